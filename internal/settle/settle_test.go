package settle

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"evalrec.dev/internal/config"
	"evalrec.dev/store"
)

func TestTheEvalrecCommandIsFoundInOrder(t *testing.T) {
	root := t.TempDir()
	onPath := t.TempDir()
	t.Setenv("PATH", onPath)
	cfg := &config.Config{ModuleRoot: root}
	write := func(path, content string, mode os.FileMode) {
		t.Helper()
		if err := os.WriteFile(path, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
	}

	write(filepath.Join(root, "go.mod"), "module example.com/m\n\ngo 1.25\n", 0o644)
	if _, err := Command(cfg); !errors.Is(err, ErrNoCommand) {
		t.Fatalf("no command anywhere: got %v, want ErrNoCommand", err)
	}
	write(filepath.Join(onPath, "evalrec"), "#!/bin/sh\n", 0o755)
	assertCommand(t, cfg, filepath.Join(onPath, "evalrec"))

	// A module that declares the command as a tool runs the version it
	// requires, before the one on PATH; a comment does not declare it.
	goBin := t.TempDir()
	write(filepath.Join(goBin, "go"), "#!/bin/sh\n", 0o755)
	t.Setenv("PATH", onPath+string(os.PathListSeparator)+goBin)
	write(filepath.Join(root, "go.mod"), "module example.com/m\n\n// tool evalrec.dev/cmd/evalrec\ntool golang.org/x/tools/cmd/stringer\n", 0o644)
	assertCommand(t, cfg, filepath.Join(onPath, "evalrec"))
	for _, gomod := range []string{
		"module example.com/m\n\ntool evalrec.dev/cmd/evalrec\n",
		"module example.com/m\n\ntool (\n\tgolang.org/x/tools/cmd/stringer\n\tevalrec.dev/cmd/evalrec // ours\n)\n",
	} {
		write(filepath.Join(root, "go.mod"), gomod, 0o644)
		assertCommand(t, cfg, filepath.Join(goBin, "go")+" tool evalrec")
	}

	cfg.Bin = "/opt/evalrec"
	assertCommand(t, cfg, "/opt/evalrec")
}

func assertCommand(t *testing.T, cfg *config.Config, want string) {
	t.Helper()
	argv, err := Command(cfg)
	if err != nil {
		t.Fatalf("Command: %v, want %s", err, want)
	}
	if got := strings.Join(argv, " "); got != want {
		t.Errorf("Command = %s, want %s", got, want)
	}
}

func TestADamagedEmbeddedFileIsFoundByItsHeader(t *testing.T) {
	dir := t.TempDir()
	check := func(content *string) error {
		path := filepath.Join(dir, "vt_metrics.db")
		os.Remove(path)
		if content != nil {
			if err := os.WriteFile(path, []byte(*content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return Check(context.Background(), store.SQLiteURI(path))
	}
	str := func(s string) *string { return &s }
	for _, c := range []struct {
		name    string
		content *string
		damaged bool
	}{
		{"missing", nil, false},
		{"empty", str(""), false},
		{"a database", str("SQLite format 3\x00" + strings.Repeat("\x00", 84)), false},
		{"text", str(strings.Repeat("not a database\n", 50)), true},
		{"cut short", str("SQLite"), true},
	} {
		err := check(c.content)
		if got := errors.Is(err, ErrDamaged); got != c.damaged || (!c.damaged && err != nil) {
			t.Errorf("%s: Check = %v, want damaged %v", c.name, err, c.damaged)
		}
	}
}

func TestAServerNoConnectionReachesIsSaidWithoutItsPassword(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := Check(ctx, "mongodb://u:hunter2@"+addr+"/?replicaSet=rs0"); err != nil {
		t.Errorf("a listening server: %v", err)
	}
	l.Close()
	err = Check(ctx, "mongodb://u:hunter2@127.0.0.1:1,"+addr+"/")
	if err == nil || !strings.Contains(err.Error(), "cannot reach MongoDB at mongodb://u:xxxxx@127.0.0.1:1,"+addr+"/ (connection refused)") {
		t.Errorf("no server listening: %v", err)
	}
	if err != nil && strings.Contains(err.Error(), "hunter2") {
		t.Errorf("the password is in the error: %v", err)
	}
}

// TestAFailedIngesterIsSaidByTheNextOne: a detached ingester's failure
// reaches no one; the next go test run's first binary reads its log and
// says it, while journals still wait.
func TestAFailedIngesterIsSaidByTheNextOne(t *testing.T) {
	dir := t.TempDir()
	cfg := &config.Config{Bin: filepath.Join(dir, "evalrec"), SpoolDir: filepath.Join(dir, ".evalrec", "spool")}
	if err := os.MkdirAll(cfg.SpoolDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(cfg.SpoolDir, "run.1.2.jsonl"), []byte("{}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ingester := func(script string) {
		t.Helper()
		if err := os.WriteFile(cfg.Bin, []byte("#!/bin/sh\n"+script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// Schedule returns once it started the ingester; this waits for the
	// ingester to have said its last word.
	logged := func(want string) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			b, _ := os.ReadFile(LogFile(cfg))
			if strings.Contains(string(b), want) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("the ingester's log holds %q, want %q", b, want)
			}
		}
	}
	failing := "echo 'evalrec: cannot reach MongoDB at mongodb://u:xxxxx@db:1/' >&2\necho '(connection refused)' >&2\nexit 1\n"
	ingester(failing)
	if err := Schedule(cfg); err != nil {
		t.Fatalf("the first ingester: %v", err)
	}
	logged("connection refused")
	err := Schedule(cfg)
	if err == nil || !strings.Contains(err.Error(), "failed (evalrec: cannot reach MongoDB at mongodb://u:xxxxx@db:1/ (connection refused); see ") {
		t.Fatalf("after a failed ingester: %v", err)
	}
	logged("connection refused")

	ingester("echo 'replayed 1 spool files into db: 2 test results'\n")
	_ = Schedule(cfg) // says the last failure once more
	logged("replayed")
	if err := Schedule(cfg); err != nil {
		t.Errorf("after an ingester that stored the spool: %v", err)
	}
	logged("replayed")

	ingester(failing)
	_ = Schedule(cfg)
	logged("connection refused")
	if err := os.Remove(filepath.Join(cfg.SpoolDir, "run.1.2.jsonl")); err != nil {
		t.Fatal(err)
	}
	if err := Schedule(cfg); err != nil {
		t.Errorf("nothing waits in the spool: %v", err)
	}
}
