package pipeline

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"evalrec.dev/ingest"
)

// The scanner decodes batches on several goroutines: what comes out is
// every line, in stream order, with its number, events and bad lines
// alike, and the stream's first event line.
func TestTheScannerHandsOnEveryLineInOrder(t *testing.T) {
	var in strings.Builder
	in.WriteString("not an event\n\n")
	const n = 5000
	for i := range n {
		if i%97 == 3 {
			fmt.Fprintf(&in, "{broken %d\n", i)
			continue
		}
		fmt.Fprintf(&in, `{"Action":"output","Package":"p","Test":"T%d","Output":"line %d\n"}`+"\n", i, i)
	}
	sc := scanAhead(ingest.NewReader(strings.NewReader(in.String())))
	var first []byte
	next := 0 // the next test line expected
	lines := 0
	for b := range sc.batches {
		if first == nil {
			first = b.first
		}
		for _, l := range b.lines {
			lines++
			if l.line == 1 {
				require.NotNil(t, l.err)
				continue
			}
			require.Equal(t, next+3, l.line, "line numbers count the empty line too")
			if next%97 == 3 {
				require.NotNil(t, l.err, "line %d", l.line)
				assert.Contains(t, l.err.Text, fmt.Sprintf("{broken %d", next))
			} else {
				require.Nil(t, l.err, "line %d", l.line)
				require.Equal(t, fmt.Sprintf("T%d", next), l.ev.Test)
				require.Equal(t, fmt.Sprintf("line %d\n", next), l.ev.Output)
			}
			next++
		}
		sc.done(b)
	}
	assert.Equal(t, n, next)
	assert.Equal(t, n+1, lines)
	assert.Equal(t, `{"Action":"output","Package":"p","Test":"T0","Output":"line 0\n"}`, string(first))
}
