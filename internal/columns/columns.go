// Package columns aligns tab-separated cells into columns by their visible
// width: ANSI colour codes take no room, and a character is one column
// however many bytes it has. text/tabwriter counts bytes, so a coloured
// status word pushed every later column off by the codes' length.
package columns

import (
	"bytes"
	"io"
	"strings"
	"unicode/utf8"
)

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
