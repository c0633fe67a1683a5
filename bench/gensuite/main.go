// Command gensuite writes a Go module holding an evaluation suite of -tests
// tests across -packages packages. Each test does -work of CPU work and calls
// evalrec.Record. It is the suite bench/run.sh times with recording on and
// off.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
)

func main() {
	dir := flag.String("dir", "", "directory to write the module to")
	repo := flag.String("repo", "", "path of the evalrec checkout")
	tests := flag.Int("tests", 2000, "number of tests")
	pkgs := flag.Int("packages", 4, "number of packages")
	work := flag.String("work", "2ms", "work per test")
	kind := flag.String("kind", "spin", "spin: CPU work; sleep: waiting, as a suite that calls a model or service does")
	flag.Parse()
	if *dir == "" || *repo == "" {
		fmt.Fprintln(os.Stderr, "usage: gensuite -dir DIR -repo REPO")
		os.Exit(2)
	}
	sum, err := os.ReadFile(filepath.Join(*repo, "go.sum"))
	check(err)
	write(filepath.Join(*dir, "go.mod"), fmt.Sprintf("module example.com/suite\n\ngo 1.25\n\nrequire evalrec.dev v0.0.0\n\nreplace evalrec.dev => %s\n", *repo))
	write(filepath.Join(*dir, "go.sum"), string(sum))
	for p := range *pkgs {
		name := fmt.Sprintf("p%d", p)
		write(filepath.Join(*dir, name, "main_test.go"), fmt.Sprintf(`package %s

import (
	"os"
	"testing"
	"time"

	"evalrec.dev/evalrec"
)

func TestMain(m *testing.M) { os.Exit(evalrec.Main(m)) }

// spin does CPU work for d, or waits for d, standing in for evaluating one
// scenario.
func spin(d time.Duration) float64 {
	if %q == "sleep" {
		time.Sleep(d)
		return 0
	}
	x, end := 0.0, time.Now().Add(d)
	for time.Now().Before(end) {
		for i := range 1000 {
			x += float64(i %% 7)
		}
	}
	return x
}

var work, _ = time.ParseDuration(%q)

func TestCases(t *testing.T) {
	for i := range %d {
		t.Run(string(rune('a'+i%%26))+"-"+time.Duration(i).String(), func(t *testing.T) {
			spin(work)
			evalrec.Record(t, evalrec.Metrics{"accuracy": float64(i%%100) / 100, "wer": float64(i%%30) / 100})
		})
	}
}
`, name, *kind, *work, *tests / *pkgs))
	}
}

func write(path, content string) {
	check(os.MkdirAll(filepath.Dir(path), 0o755))
	check(os.WriteFile(path, []byte(content), 0o644))
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
