package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"evalrec.dev/internal/storetest"
	"evalrec.dev/internal/testmod"
)

// startUI runs evalrec ui with args until the test ends, and returns what
// it printed once it is listening.
func startUI(t *testing.T, args ...string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/ui\n\ngo 1.25\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	storetest.EmbeddedAt(t, dir)
	t.Chdir(dir)
	out := &testmod.SyncBuffer{}
	c := newUICmd(&environment{stdin: strings.NewReader(""), stdout: out, stderr: out})
	if err := c.fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx, nil) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	for range 500 {
		if s := out.String(); strings.Contains(s, "Ctrl-C") {
			return s
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("evalrec ui printed no address: %q", out.String())
	return ""
}

// A token the user chose is never printed; one evalrec made up is, so
// that the user can open the UI.
func TestTheUIPrintsOnlyATokenItMadeUp(t *testing.T) {
	if out := startUI(t, "-addr", "127.0.0.1:0", "-token", "MyOwnSecretToken"); strings.Contains(out, "MyOwnSecretToken") {
		t.Errorf("the user's token was printed: %q", out)
	}
	out := startUI(t, "-addr", "0.0.0.0:0")
	if !strings.Contains(out, "?token=") {
		t.Errorf("off loopback, the made-up token is needed to open the UI: %q", out)
	}
}
