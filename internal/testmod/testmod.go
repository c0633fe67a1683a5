// Package testmod writes Go modules that use this checkout of evalrec, runs
// commands in them, and builds evalrec's commands, for the tests that run
// real suites end to end.
package testmod

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/gofrs/flock"

	"evalrec.dev/internal/testenv"
)

// Repo is the root of this checkout.
func Repo(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot find the checkout")
	}
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// Write writes a module named example.com/gen that requires this checkout
// of evalrec, with files (path → content) added, into a fresh directory.
func Write(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	root := Repo(t)
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	all := map[string]string{
		"go.mod": "module example.com/gen\n\ngo 1.25\n\nrequire evalrec.dev v0.0.0\n\nreplace evalrec.dev => " + root + "\n",
		"go.sum": string(sum),
	}
	for k, v := range files {
		all[k] = v
	}
	for name, content := range all {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// GoFlags is GOFLAGS for the go commands tests run: modules that name
// this checkout resolve what it needs, and what go builds has no DWARF
// tables (-ldflags=-w). Nothing reads them, and without them a test binary
// that links evalrec links in about 27% less CPU time.
const GoFlags = "-mod=mod -ldflags=-w"

// Env is a clean environment (see package testenv) for a command a test
// runs, with env added.
func Env(env ...string) []string {
	return append(append(testenv.Environ(), "GOFLAGS="+GoFlags), env...)
}

// Output is what a command printed and how it exited.
type Output struct {
	Stdout, Stderr string
	Code           int
	// MaxRSS is the command's peak resident set, in bytes, from RunMeasured
	// (0 from Run, or where it cannot be measured).
	MaxRSS int64
}

// Combined is stdout followed by stderr.
func (o Output) Combined() string { return o.Stdout + o.Stderr }

// Run runs name with args in dir, with env added to a clean environment.
// A go command (or a shell, which may run one) is given EVALREC_BIN, this
// checkout's evalrec, for the test binaries it runs (see internal/settle);
// env may set another.
func Run(t testing.TB, dir string, env []string, name string, args ...string) Output {
	t.Helper()
	if name == "go" || name == "sh" {
		env = append([]string{BinEnv(t)}, env...)
	}
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = Env(env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	o := Output{Stdout: out.String(), Stderr: errOut.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		o.Code = ee.ExitCode()
	case err != nil:
		t.Fatalf("running %s: %v", name, err)
	}
	return o
}

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// Bin builds evalrec and gojson2mongo from this checkout (with -race when
// this binary has the race detector) and returns the directory that holds
// them. The directory is the same for every test binary of this checkout,
// and go build links again only what changed since: a race-built pair
// takes about 12 s of CPU to link, and several test binaries, and the
// go test runs that tests start, ask for it.
func Bin(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		kind := "plain"
		if Race {
			kind = "race"
		}
		sum := sha256.Sum256([]byte(Repo(t)))
		binDir = filepath.Join(os.TempDir(), fmt.Sprintf("evalrec-testbin-%x-%s", sum[:6], kind))
		if buildErr = os.MkdirAll(binDir, 0o755); buildErr != nil {
			return
		}
		// One build at a time: two go builds writing one file race.
		lock := flock.New(filepath.Join(binDir, ".lock"))
		if buildErr = lock.Lock(); buildErr != nil {
			return
		}
		defer lock.Unlock()
		args := []string{"build", "-o", binDir}
		if Race {
			args = append(args, "-race")
		}
		cmd := exec.Command("go", append(args, "./cmd/evalrec", "./cmd/gojson2mongo")...)
		cmd.Dir = Repo(t)
		cmd.Env = Env()
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = errors.New(string(out))
		}
	})
	if buildErr != nil {
		t.Fatalf("building evalrec: %v", buildErr)
	}
	return binDir
}

// BinEnv is EVALREC_BIN for this checkout's evalrec, which test binaries
// in TestMain mode run to store their journals.
func BinEnv(t testing.TB) string { return "EVALREC_BIN=" + filepath.Join(Bin(t), "evalrec") }

// RunMeasured is Run, with the command's peak resident set in MaxRSS.
// Linux carries a process's peak over exec, and a command started from a
// test binary starts as a copy of it: its own figure would be the test
// binary's. So the command runs under GNU time, a small process that
// forks it and reads its peak; without /usr/bin/time, MaxRSS is 0.
func RunMeasured(t testing.TB, dir string, env []string, name string, args ...string) Output {
	t.Helper()
	if _, err := os.Stat("/usr/bin/time"); err != nil {
		return Run(t, dir, env, name, args...)
	}
	report := filepath.Join(t.TempDir(), "rss")
	o := Run(t, dir, env, "/usr/bin/time", append([]string{"-o", report, "-f", "%M", name}, args...)...)
	if b, err := os.ReadFile(report); err == nil {
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		if kb, err := strconv.ParseInt(lines[len(lines)-1], 10, 64); err == nil {
			o.MaxRSS = kb * 1024
		}
	}
	return o
}
