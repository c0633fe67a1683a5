package columns

import (
	"strings"
	"testing"
)

func TestColumnsAlignByVisibleWidth(t *testing.T) {
	var b strings.Builder
	w := New(&b)
	w.Write([]byte("RUN\tSTATUS\tSCORE\n"))
	w.Write([]byte("a\t\x1b[32mcompleted\x1b[0m\t99.5\n"))
	w.Write([]byte("bb\tfailed\t–\n"))
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	want := "RUN  STATUS     SCORE\n" +
		"a    \x1b[32mcompleted\x1b[0m  99.5\n" +
		"bb   failed     –\n"
	if b.String() != want {
		t.Errorf("got\n%q\nwant\n%q", b.String(), want)
	}
	for _, line := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		if i := strings.Index(stripped(line), "SCORE"); i >= 0 && i != 16 {
			t.Errorf("SCORE at %d", i)
		}
	}
}

func TestWidth(t *testing.T) {
	for s, want := range map[string]int{"": 0, "abc": 3, "\x1b[31mabc\x1b[0m": 3, "ü→": 2} {
		if got := Width(s); got != want {
			t.Errorf("Width(%q) = %d, want %d", s, got, want)
		}
	}
}

func stripped(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == 0x1b {
			for i < len(s) && s[i] != 'm' {
				i++
			}
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// Test names come from users: a table shows their control and format
// characters escaped, and cuts a huge one short.
func TestCellsShowControlCharactersEscapedAndHugeOnesCut(t *testing.T) {
	var b strings.Builder
	w := New(&b)
	w.Write([]byte("TestA\x1b]0;owned\x07\x00b\u202etxt.exe\t\x1b[31mfailed\x1b[0m\n"))
	w.Write([]byte(strings.Repeat("x", 1<<20) + "\tok\n"))
	w.Write([]byte("bad \xff byte\t\n"))
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	lines := strings.Split(out, "\n")
	if want := `TestA\x1b]0;owned\x07\x00b\u202etxt.exe`; !strings.HasPrefix(lines[0], want) {
		t.Errorf("line 1: %q, want it to start with %q", lines[0], want)
	}
	if !strings.Contains(lines[0], "\x1b[31mfailed\x1b[0m") {
		t.Errorf("the colour of a status was lost: %q", lines[0])
	}
	if strings.ContainsAny(strings.ReplaceAll(strings.ReplaceAll(out, "\x1b[31m", ""), "\x1b[0m", ""), "\x00\x07\x1b\u202e\xff") {
		t.Errorf("raw control characters in %q", out[:200])
	}
	if len(out) > 1000 || Width(lines[1]) > MaxCell+10 || !strings.Contains(lines[1], "…") {
		t.Errorf("a 1 MB cell made a %d-byte table; line 2 is %d columns", len(out), Width(lines[1]))
	}
	if !strings.HasPrefix(lines[2], `bad \xff byte`) {
		t.Errorf("line 3: %q", lines[2])
	}
}
