package faults

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"evalrec.dev/internal/testmod"
	"evalrec.dev/model"
	"evalrec.dev/store/sqlite"
)

// blockingSuite is a package of n tests that record a metric, mark a file
// and pass at once, followed by TestZBlock, which writes its PID and waits
// until the file RELEASE exists (a minute at most). Tests run in the order
// of their files, then of their declarations, so it comes last.
func blockingSuite(n int) map[string]string {
	var b strings.Builder
	b.WriteString(`package slow

import (
	"fmt"
	"os"
	"testing"

	"evalrec.dev/evalrec"
)

func mark(name string) {
	f, err := os.OpenFile(os.Getenv("MARKS"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		panic(err)
	}
	fmt.Fprintln(f, name)
	f.Close()
}
`)
	for i := range n {
		fmt.Fprintf(&b, "\nfunc TestFast%04d(t *testing.T) {\n\tevalrec.Record(t, evalrec.Metrics{\"x\": 0.5})\n\tmark(t.Name())\n}\n", i)
	}
	return map[string]string{
		"slow/fast_test.go": b.String(),
		"slow/zblock_test.go": `package slow

import (
	"os"
	"strconv"
	"testing"
	"time"
)

func TestZBlock(t *testing.T) {
	os.WriteFile(os.Getenv("BLOCKPID"), []byte(strconv.Itoa(os.Getpid())), 0o644)
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if _, err := os.Stat(os.Getenv("RELEASE")); err == nil {
			return
		}
	}
}
`,
	}
}

// wrapperRun is evalrec test running blockingSuite, in a process group of
// its own.
type wrapperRun struct {
	cmd                    *exec.Cmd
	dir                    string
	marks, release, blockd string
	stdout, stderr         testmod.SyncBuffer
}

func startWrapper(t *testing.T, n int, env ...string) *wrapperRun {
	t.Helper()
	w := &wrapperRun{dir: testmod.Write(t, blockingSuite(n))}
	tmp := t.TempDir()
	w.marks, w.release, w.blockd = filepath.Join(tmp, "marks"), filepath.Join(tmp, "release"), filepath.Join(tmp, "block.pid")
	w.cmd = exec.Command(filepath.Join(testmod.Bin(t), "evalrec"), "test", "-count=1", "./...")
	w.cmd.Dir = w.dir
	w.cmd.Env = testmod.Env(append(env, "MARKS="+w.marks, "RELEASE="+w.release, "BLOCKPID="+w.blockd)...)
	w.cmd.Stdout, w.cmd.Stderr = &w.stdout, &w.stderr
	w.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// go test, a child of the wrapper, holds the output pipes: once the
	// wrapper is killed, Wait would wait for it (blocked until the test
	// lets TestBlock end, up to its timeout) to close them.
	w.cmd.WaitDelay = time.Second
	require.NoError(t, w.cmd.Start())
	t.Cleanup(func() {
		os.WriteFile(w.release, nil, 0o644) // let TestBlock end, whatever happened
		syscall.Kill(-w.cmd.Process.Pid, syscall.SIGKILL)
	})
	return w
}

// waitForMarks waits until n tests have finished their bodies, then for
// about a second more: what finished must be durable within that.
func (w *wrapperRun) waitForMarks(t *testing.T, n int) {
	t.Helper()
	require.Eventually(t, func() bool { return countLines(w.marks) >= n }, 3*time.Minute, 20*time.Millisecond,
		"tests finished: %d of %d\n%s%s", countLines(w.marks), n, w.stdout.String(), w.stderr.String())
	require.Eventually(t, func() bool { _, err := os.Stat(w.blockd); return err == nil }, time.Minute, 10*time.Millisecond)
	time.Sleep(1200 * time.Millisecond)
}

func (w *wrapperRun) blockPID(t *testing.T) int {
	b, err := os.ReadFile(w.blockd)
	require.NoError(t, err)
	pid, err := strconv.Atoi(string(b))
	require.NoError(t, err)
	return pid
}

func countLines(path string) int {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	n := 0
	for sc := bufio.NewScanner(f); sc.Scan(); {
		n++
	}
	return n
}

func processGone(pid int) bool {
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}

const fastTests = 300

func TestTheWrapperKilledLosesNothingThatFinished(t *testing.T) {
	t.Parallel()
	w := startWrapper(t, fastTests)
	w.waitForMarks(t, fastTests)
	require.NoError(t, syscall.Kill(w.cmd.Process.Pid, syscall.SIGKILL))
	_ = w.cmd.Wait()
	block := w.blockPID(t)
	require.NoError(t, os.WriteFile(w.release, nil, 0o644))
	require.Eventually(t, func() bool { return processGone(block) }, time.Minute, 20*time.Millisecond)

	// The next evalrec command recovers what the killed wrapper left.
	out := testmod.Run(t, w.dir, nil, filepath.Join(testmod.Bin(t), "evalrec"), "runs")
	require.Zero(t, out.Code, out.Combined())
	assert.Contains(t, out.Stderr, "journals of 1 runs that died", out.Combined())

	db := embeddedStore(t, w.dir)
	rs := runs(t, db)
	require.Len(t, rs, 1)
	r := rs[0]
	assert.Equal(t, model.StatusFailed, r.Status)
	assert.Contains(t, r.Error, "stopped before package example.com/gen/slow ended")
	trs := assertTotalsAreStored(t, db, r)
	passed := 0
	for _, tr := range trs {
		if tr.Status == "passed" {
			passed++
		}
	}
	assert.Equal(t, fastTests, passed, "every test that finished a second before the kill is stored")
	t.Logf("SIGKILL to evalrec test: %d of %d finished tests stored", passed, fastTests)
}

func TestTheWrapperPassesSignalsOnAndStoresWhatFinished(t *testing.T) {
	t.Parallel()
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			w := startWrapper(t, fastTests)
			w.waitForMarks(t, fastTests)
			block := w.blockPID(t)
			require.NoError(t, syscall.Kill(w.cmd.Process.Pid, sig), "the wrapper alone, as CI's cancel does")
			done := make(chan error, 1)
			go func() { done <- w.cmd.Wait() }()
			select {
			case <-done:
			case <-time.After(time.Minute):
				t.Fatalf("evalrec test ran on after %v:\n%s%s", sig, w.stdout.String(), w.stderr.String())
			}
			code := w.cmd.ProcessState.ExitCode()
			assert.NotZero(t, code, "an interrupted run never exits 0")
			if sig == syscall.SIGTERM {
				assert.Equal(t, 128+int(sig), code, "go test died of the signal, as a shell reports it")
			}
			assert.Eventually(t, func() bool { return processGone(block) }, 10*time.Second, 20*time.Millisecond,
				"the test binaries got the signal too")

			db := embeddedStore(t, w.dir)
			rs := runs(t, db)
			require.Len(t, rs, 1)
			r := rs[0]
			assert.Equal(t, model.StatusFailed, r.Status)
			assert.Contains(t, r.Error, "interrupted by "+map[syscall.Signal]string{syscall.SIGTERM: "SIGTERM", syscall.SIGINT: "SIGINT"}[sig])
			trs := assertTotalsAreStored(t, db, r)
			assert.GreaterOrEqual(t, r.NumPassed, fastTests, "%d stored", len(trs))
			assert.Contains(t, w.stdout.String(), "failed", "the summary says the run failed")
			t.Logf("%v to evalrec test: %d of %d finished tests stored, exit %d", sig, r.NumPassed, fastTests, code)
		})
	}
}

// passingSuite is a small suite that records and passes.
var passingSuite = map[string]string{
	"a/a_test.go": `package a

import (
	"testing"

	"evalrec.dev/evalrec"
)

func TestOne(t *testing.T) { evalrec.Record(t, evalrec.Metrics{"acc": 0.9}) }
func TestTwo(t *testing.T) { evalrec.Record(t, evalrec.Metrics{"acc": 0.8}) }
`,
}

func TestStorageProblemsNeverFailTheSuite(t *testing.T) {
	t.Parallel()
	bin := filepath.Join(testmod.Bin(t), "evalrec")

	t.Run("an invalid setting", func(t *testing.T) {
		dir := testmod.Write(t, passingSuite)
		out := testmod.Run(t, dir, []string{"EVALREC_FLUSH_INTERVAL=1ns"}, bin, "test", "-count=1", "./...")
		assert.Zero(t, out.Code, out.Combined())
		assert.Contains(t, out.Stdout, "ok   example.com/gen/a")
		assert.Contains(t, out.Stderr, "EVALREC_FLUSH_INTERVAL=1ns is out of range")
		assert.Contains(t, out.Stderr, "results are not stored")
		assert.Equal(t, 1, strings.Count(out.Stderr, "\n"), "one line: %s", out.Stderr)

		out = testmod.Run(t, dir, []string{"EVALREC_FLUSH_INTERVAL=1ns", "EVALREC_STRICT=yes"}, bin, "test", "-count=1", "./...")
		assert.Equal(t, 1, out.Code, "strict mode fails the suite: %s", out.Combined())
	})

	t.Run("an .evalrec that cannot be written", func(t *testing.T) {
		dir := testmod.Write(t, passingSuite)
		require.NoError(t, os.WriteFile(filepath.Join(dir, ".evalrec"), []byte("not a directory"), 0o644))
		out := testmod.Run(t, dir, nil, bin, "test", "-count=1", "./...")
		assert.Zero(t, out.Code, out.Combined())
		assert.Contains(t, out.Stdout, "ok   example.com/gen/a")
		assert.Contains(t, out.Stderr, "2 results of this run are lost: storing failed")
		assert.Equal(t, 1, strings.Count(out.Stderr, "\n"), "one line: %s", out.Stderr)
		assert.NotContains(t, out.Combined(), "run `evalrec replay`", "no spool is claimed")
	})

	t.Run("a store locked by another process", func(t *testing.T) {
		// Another process holds the embedded store's write lock for longer
		// than a write may wait (a stuck writer): the suite runs, its
		// results are spooled, and the next command stores them.
		dir := testmod.Write(t, passingSuite)
		db := embeddedStore(t, dir)
		holder, err := sqlite.Open(context.Background(), filepath.Join(dir, ".evalrec", "vt_metrics.db"))
		require.NoError(t, err)
		defer holder.Close()
		lock, err := holder.DB().BeginTx(context.Background(), nil)
		require.NoError(t, err)
		out := testmod.Run(t, dir, []string{"EVALREC_WRITE_TIMEOUT=1s"}, bin, "test", "-count=1", "./...")
		assert.Zero(t, out.Code, out.Combined())
		assert.Contains(t, out.Stdout, "ok   example.com/gen/a")
		assert.Contains(t, out.Stderr, "locked by another process")
		assert.Contains(t, out.Stderr, "results spooled to .evalrec/spool")
		require.NoError(t, lock.Rollback())

		out = testmod.Run(t, dir, nil, bin, "runs")
		require.Zero(t, out.Code, out.Combined())
		assert.Contains(t, out.Stderr, "stored 1 spooled result files")
		rs := runs(t, db)
		require.Len(t, rs, 1)
		assert.Equal(t, model.StatusCompleted, rs[0].Status)
		assert.Equal(t, 2, len(assertTotalsAreStored(t, db, rs[0])))
	})
}
