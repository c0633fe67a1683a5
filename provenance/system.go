package provenance

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"

	"golang.org/x/mod/modfile"

	"evalrec.dev/internal/redact"
)

// System is a snapshot of what a run ran on and with. Everything but the
// volatile fields enters [System.Hash], so two runs with equal configurations
// hash equal and a changed dependency or setting changes the hash.
type System struct {
	GoVersion string `json:"go_version"`
	GOOS      string `json:"goos"`
	GOARCH    string `json:"goarch"`
	CPUModel  string `json:"cpu_model"`
	NumCPU    int    `json:"num_cpu"`
	Module    string `json:"module"`
	Version   string `json:"module_version"`
	// Dependencies are sorted by path. They are a list, not a map, because
	// module paths contain dots, which field names may not.
	Dependencies []Module `json:"dependencies"`
	// SystemUnderTest is the configuration the suite declares: model names,
	// engine versions, feature flags. Values under secret-looking keys are
	// masked.
	SystemUnderTest map[string]any `json:"system_under_test"`

	// Volatile: stored, but left out of the hash.
	Hostname string `json:"hostname,omitempty"`
}

// Snapshot describes the running binary and machine. sut is the suite's
// declared configuration; it is copied, with secrets masked.
func Snapshot(sut map[string]any) System {
	s := System{
		GoVersion:       runtime.Version(),
		GOOS:            runtime.GOOS,
		GOARCH:          runtime.GOARCH,
		CPUModel:        cpuModel(),
		NumCPU:          runtime.NumCPU(),
		SystemUnderTest: maskSecrets(sut),
	}
	deps := map[string]string{}
	if bi, ok := debug.ReadBuildInfo(); ok {
		s.Module, s.Version = bi.Main.Path, bi.Main.Version
		for _, d := range bi.Deps {
			v := d.Version
			if d.Replace != nil {
				v += " => " + d.Replace.Path + " " + d.Replace.Version
			}
			deps[d.Path] = v
		}
	}
	if len(deps) == 0 {
		// Test binaries carry no dependency list in their build
		// information; the module's go.mod has the versions.
		deps = goModRequirements(".")
	}
	s.Dependencies = MergeModules(nil, deps)
	s.Hostname, _ = os.Hostname()
	return s
}

// goModRequirements reads the requirements of the go.mod found from dir
// upwards, with replacements noted as in build information.
func goModRequirements(dir string) map[string]string {
	deps := map[string]string{}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return deps
	}
	for d := abs; ; d = filepath.Dir(d) {
		path := filepath.Join(d, "go.mod")
		data, err := os.ReadFile(path)
		if err == nil {
			f, err := modfile.ParseLax(path, data, nil)
			if err != nil {
				return deps
			}
			for _, r := range f.Require {
				deps[r.Mod.Path] = r.Mod.Version
			}
			for _, r := range f.Replace {
				if v, ok := deps[r.Old.Path]; ok {
					deps[r.Old.Path] = v + " => " + r.New.Path + " " + r.New.Version
				}
			}
			return deps
		}
		if filepath.Dir(d) == d {
			return deps
		}
	}
}

// Module is one dependency.
type Module struct {
	Path    string `json:"path"`
	Version string `json:"version"`
}

// MergeModules returns the union of list and extra, sorted by path; extra
// wins where both name a path. The test binaries of one run may each know
// only some dependencies; the run's record is the union.
func MergeModules(list []Module, extra map[string]string) []Module {
	m := make(map[string]string, len(list)+len(extra))
	for _, d := range list {
		m[d.Path] = d.Version
	}
	maps.Copy(m, extra)
	out := make([]Module, 0, len(m))
	for p, v := range m {
		out = append(out, Module{p, v})
	}
	slices.SortFunc(out, func(a, b Module) int { return strings.Compare(a.Path, b.Path) })
	return out
}

// ModuleMap is the inverse of MergeModules(nil, m).
func ModuleMap(list []Module) map[string]string {
	m := make(map[string]string, len(list))
	for _, d := range list {
		m[d.Path] = d.Version
	}
	return m
}

// Hash is the SHA-256, in hex, of the canonical JSON of the non-volatile
// fields. encoding/json writes map keys sorted, which makes it canonical.
func (s System) Hash() string {
	s.Hostname = ""
	b, err := json.Marshal(s)
	if err != nil {
		// Only an unencodable SystemUnderTest value gets here; hash what can
		// be said about it rather than fail a run over provenance.
		b = []byte(err.Error())
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// maskSecrets copies the declared system under test with every secret
// masked, whatever Go types it holds (see redact.Value).
func maskSecrets(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	out, _ := redact.Value(m).(map[string]any)
	return out
}

func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
