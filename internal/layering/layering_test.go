package layering

import (
	"bufio"
	"bytes"
	"os/exec"
	"strings"
	"testing"
)

const module = "evalrec.dev/"

// layerOf is the layer of a package of the module, or -1 when none names
// it.
func layerOf(pkg string) int {
	rel := strings.TrimPrefix(pkg, module)
	for i, l := range Layers {
		for _, p := range l {
			if rel == p || strings.HasSuffix(p, "/") && strings.HasPrefix(rel, p) {
				return i
			}
		}
	}
	return -1
}

// imports lists, per package of the module, its imports (not its tests':
// a driver's tests import the shared harness above them, as the Go CDK's
// drivertest is imported).
func imports(t *testing.T, tags string) map[string][]string {
	t.Helper()
	args := []string{"list", "-f", `{{.ImportPath}} {{join .Imports " "}}`}
	if tags != "" {
		args = append(args, "-tags", tags)
	}
	cmd := exec.Command("go", append(args, "evalrec.dev/...")...)
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	m := map[string][]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		m[f[0]] = f[1:]
	}
	return m
}

func TestNoPackageImportsOneAboveIt(t *testing.T) {
	for pkg, imps := range imports(t, "") {
		from := layerOf(pkg)
		if from < 0 {
			t.Errorf("%s is in no layer: add it to Layers", pkg)
			continue
		}
		for _, imp := range imps {
			if !strings.HasPrefix(imp, module) {
				continue
			}
			if to := layerOf(imp); to >= from {
				t.Errorf("%s (layer %d) imports %s (layer %d): a package imports only lower layers", pkg, from, imp, to)
			}
		}
	}
}

// TestOnlyTheMongoDriverImportsMongo: the domain model has IDs of its
// own (model.ID), so only store/mongo imports the MongoDB driver or bson,
// with or without the ferretdb tag (whose files import FerretDB, which
// brings the driver itself).
func TestOnlyTheMongoDriverImportsMongo(t *testing.T) {
	for _, tags := range []string{"", "ferretdb"} {
		for pkg, imps := range imports(t, tags) {
			if pkg == module+"store/mongo" {
				continue
			}
			for _, imp := range imps {
				if strings.HasPrefix(imp, "go.mongodb.org/") {
					t.Errorf("%s imports %s (tags %q): only store/mongo may", pkg, imp, tags)
				}
			}
		}
	}
}

// TestTheLibraryLinksNoStoreDriver: a test binary that imports evalrec
// only journals (see internal/settle), so it links neither SQLite nor the
// MongoDB driver, which would more than double its build time and size.
func TestTheLibraryLinksNoStoreDriver(t *testing.T) {
	cmd := exec.Command("go", "list", "-deps", module+"evalrec")
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 50 {
		t.Fatalf("go list -deps evalrec listed %d packages: %q", len(deps), out)
	}
	for _, dep := range deps {
		for _, heavy := range []string{"modernc.org/", "go.mongodb.org/", "github.com/FerretDB/", module + "store/", module + "internal/storeconn"} {
			if strings.HasPrefix(dep, heavy) {
				t.Errorf("the library links %s", dep)
			}
		}
	}
}
