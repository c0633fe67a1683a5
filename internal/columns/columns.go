// Package columns aligns tab-separated cells into columns by their visible
// width: ANSI colour codes take no room, and a character is one column
// however many bytes it has. text/tabwriter counts bytes, so a coloured
// status word pushed every later column off by the codes' length.
package columns

import (
	"bytes"
	"fmt"
	"io"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxCell is the widest a cell is shown, in columns: a longer one is cut
// with "…", so that one huge name cannot pad every row of a table.
const MaxCell = 120

// Writer buffers lines of tab-terminated cells and writes them aligned at
// Flush, padding each column to its widest cell plus two spaces. As with
// text/tabwriter, the text after a line's last tab is not a column.
type Writer struct {
	w   io.Writer
	buf bytes.Buffer
}

// New returns a Writer that writes to w.
func New(w io.Writer) *Writer { return &Writer{w: w} }

func (t *Writer) Write(p []byte) (int, error) { return t.buf.Write(p) }

// Flush writes what was buffered, aligned.
func (t *Writer) Flush() error {
	text := t.buf.String()
	t.buf.Reset()
	if text == "" {
		return nil
	}
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	rows := make([][]string, len(lines))
	var widths []int
	for i, l := range lines {
		rows[i] = strings.Split(l, "\t")
		for j, cell := range rows[i] {
			rows[i][j] = Cut(Printable(cell), MaxCell)
		}
		for j, cell := range rows[i][:len(rows[i])-1] {
			if j == len(widths) {
				widths = append(widths, 0)
			}
			widths[j] = max(widths[j], Width(cell))
		}
	}
	var out bytes.Buffer
	for _, row := range rows {
		for j, cell := range row {
			out.WriteString(cell)
			if j < len(row)-1 {
				out.WriteString(strings.Repeat(" ", widths[j]-Width(cell)+2))
			}
		}
		// No trailing blanks where the last cell is empty.
		trimmed := bytes.TrimRight(out.Bytes(), " ")
		out.Truncate(len(trimmed))
		out.WriteByte('\n')
	}
	_, err := t.w.Write(out.Bytes())
	return err
}

// Width is the number of columns s takes on a terminal: its characters,
// less ANSI escape sequences.
func Width(s string) int {
	n := 0
	for i := 0; i < len(s); {
		if s[i] == 0x1b && i+1 < len(s) && s[i+1] == '[' {
			j := i + 2
			for j < len(s) && (s[j] < 0x40 || s[j] > 0x7e) {
				j++
			}
			i = j + 1
			continue
		}
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
		n++
	}
	return n
}

// sgr is a colour code, the only escape sequence a table keeps.
var sgr = regexp.MustCompile(`^\x1b\[[0-9;]*m`)

// Printable shows s's control and format characters (ESC, NUL, a
// right-to-left override, invalid UTF-8) as Go escapes, so that a test
// named by a user cannot move the cursor, retitle the terminal or reorder
// what is printed. Colour codes (ESC [ … m) are kept.
func Printable(s string) string {
	clean := true
	for _, r := range s {
		if r == utf8.RuneError || unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if m := sgr.FindString(s[i:]); m != "" {
			b.WriteString(m)
			i += len(m)
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r < 0x80 && unicode.IsControl(r):
			fmt.Fprintf(&b, `\x%02x`, r)
		case unicode.IsControl(r) || unicode.Is(unicode.Cf, r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
		i += size
	}
	return b.String()
}

// Cut shortens s to at most n visible columns, ending it with "…" when it
// was longer. Colour codes are kept whole.
func Cut(s string, n int) string {
	if Width(s) <= n {
		return s
	}
	cols := 0
	for i := 0; i < len(s); {
		if m := sgr.FindString(s[i:]); m != "" {
			i += len(m)
			continue
		}
		if cols == n-1 {
			return s[:i] + "…" + reset(s[:i])
		}
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
		cols++
	}
	return s
}

// reset ends a colour that s started and did not end.
func reset(s string) string {
	if strings.Contains(s, "\x1b[") && !strings.HasSuffix(s, "\x1b[0m") {
		return "\x1b[0m"
	}
	return ""
}
