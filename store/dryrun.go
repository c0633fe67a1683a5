package store

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	json "github.com/goccy/go-json"

	"evalrec.dev/model"
)

// A dryRun prints the documents a session would store, one a line, as
// {"collection":…,"document":…} (see [SessionConfig.DryRun]): the test
// runs as they are flushed, then the parts and the run once, final.
type dryRun struct {
	w   *bufio.Writer
	buf bytes.Buffer  // a document's encoding, reused
	enc *json.Encoder // into buf
	log *slog.Logger
}

func newDryRun(w io.Writer, log *slog.Logger) *dryRun {
	d := &dryRun{w: bufio.NewWriterSize(w, 1<<20), log: log}
	d.enc = json.NewEncoder(&d.buf)
	return d
}

// closeDry prints the parts and the run, with the totals Finalize would
// compute from them were they stored.
func (s *Session) closeDry() *model.EvaluationRun {
	s.mu.Lock()
	parts := make([]Part, 0, len(s.parts))
	for _, p := range s.parts {
		parts = append(parts, *p)
	}
	s.mu.Unlock()
	return s.dry.end(s.cfg.Run, parts)
}

// testRuns prints the test runs ops insert. Their documents hold nothing
// the store would mask: results are masked as they are completed, and the
// run they repeat when the session opens.
func (d *dryRun) testRuns(ops []op) {
	for i := range ops {
		if ops[i].kind == opInsertTest {
			d.print(TestsCollection, &ops[i].doc)
		}
	}
}

// end computes run's totals from parts, as finalizing would from the
// stored ones, prints the parts and the run, and returns the run.
func (d *dryRun) end(run model.EvaluationRun, parts []Part) *model.EvaluationRun {
	slices.SortFunc(parts, func(a, b Part) int { return strings.Compare(a.ID, b.ID) })
	var sum Tally
	for _, p := range parts {
		sum.add(p.Summary, p.Values)
	}
	totals(&run, parts, time.Now(), &sum)
	maskRun(&run)
	for _, p := range parts {
		maskPart(&p)
		d.print(PartsCollection, p)
	}
	d.print(RunsCollection, run)
	if err := d.w.Flush(); err != nil {
		d.log.Error(fmt.Sprintf("writing documents: %v", err))
	}
	return &run
}

// print prints doc as the line {"collection":coll,"document":doc}. coll
// is a collection's name, which needs no escaping.
func (d *dryRun) print(coll string, doc any) {
	d.buf.Reset()
	if err := d.enc.Encode(doc); err != nil {
		d.log.Error(fmt.Sprintf("encoding a %s document: %v", coll, err))
		return
	}
	d.w.WriteString(`{"collection":"` + coll + `","document":`)
	d.w.Write(bytes.TrimSuffix(d.buf.Bytes(), []byte("\n")))
	d.w.WriteString("}\n")
}
