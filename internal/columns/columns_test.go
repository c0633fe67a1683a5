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
