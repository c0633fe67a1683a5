package store

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"evalrec.dev/journal"
	"evalrec.dev/model"
	"evalrec.dev/provenance"
	"evalrec.dev/result"
	"evalrec.dev/samples"
)

// StaleAfter is how long a part may go without a heartbeat before its writer
// is taken for dead. Writers to MongoDB beat every flush interval (2 s by
// default); on one machine they beat none (see deadReason).
const StaleAfter = time.Minute

// Finalize recomputes a run's totals from its stored test runs and parts
// and writes them at once. Any writer may call it at any time, as often as
// it likes: when the last part has ended, the totals are exact and the
// status is final.
//
// Parts whose writer died (same host and its process is gone, or no heartbeat
// for StaleAfter) are marked failed first, so a killed binary does not leave
// its run running for ever.
//
// The driver reads the run's state and writes what [Finalizing] computes
// from it: SQLite in one transaction; MongoDB, whose servers may update no
// two documents at once, by repeating until what it read stays the same
// (see [Driver.Finalize]).
func (d *DB) Finalize(ctx context.Context, runID model.ID, now time.Time) (*model.EvaluationRun, error) {
	run, _, err := d.finalize(ctx, runID, now, nil)
	return run, err
}

// finalize is Finalize for a writer that knows the results it stored in
// the run (see [Finalizing.Stored]). It also returns the results the run
// was totalled from: every test run of it.
func (d *DB) finalize(ctx context.Context, runID model.ID, now time.Time, stored *samples.Results) (*model.EvaluationRun, *samples.Results, error) {
	var totalled *samples.Results
	run, err := d.FinalizeWith(ctx, runID, Finalizing{
		Reap: func(parts []Part) []*Part { return reapDeadParts(parts, now, d.onOneMachine()) },
		Totals: func(run *model.EvaluationRun, parts []Part, rs *samples.Results) {
			totals(run, parts, now, TallyOf(rs))
			totalled = rs
		},
		Stored: stored,
	})
	if err != nil {
		return nil, nil, err
	}
	return run, totalled, nil
}

// FinalizeWith is Finalize with f's computation: what store/drivertest
// checks drivers with. What f returns is masked before it is written.
func (d *DB) FinalizeWith(ctx context.Context, runID model.ID, f Finalizing) (*model.EvaluationRun, error) {
	cctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	run, err := d.drv.Finalize(cctx, runID, Finalizing{
		Reap: func(parts []Part) []*Part {
			reaped := f.Reap(parts)
			for _, p := range reaped {
				maskPart(p)
			}
			return reaped
		},
		Totals: func(run *model.EvaluationRun, parts []Part, rs *samples.Results) {
			f.Totals(run, parts, rs)
			maskRun(run)
		},
		Stored: f.Stored,
	})
	if err != nil {
		return nil, fmt.Errorf("finalizing run %s: %w", runID.Hex(), err)
	}
	return run, nil
}

// Finalizing is what finalizing a run computes from what a driver read of
// it (see [Driver.Finalize]).
type Finalizing struct {
	// Reap marks the running parts whose writer is gone as failed, in
	// parts, and returns them, for the driver to write over the stored
	// ones that still run.
	Reap func(parts []Part) []*Part
	// Totals sets run's totals from its parts (as reaped) and the results
	// of all its test runs.
	Totals func(run *model.EvaluationRun, parts []Part, rs *samples.Results)
	// Stored, when not nil, holds the results of the test runs the caller
	// stored in the run, every one of them, each once. A driver may take
	// them for the run's own when the run holds as many test runs (then
	// it holds no others), and so not read 50,000 rows back to total a
	// run it has just written.
	Stored *samples.Results
}

func (d *DB) readParts(ctx context.Context, runID model.ID) ([]Part, error) {
	cctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	parts, err := d.parts(cctx, runID)
	if err != nil {
		return nil, fmt.Errorf("reading parts of run %s: %w", runID.Hex(), err)
	}
	return parts, nil
}

// reapDeadParts marks running parts whose writer is gone as failed, and
// returns them. local says the store is on this machine (see deadReason).
func reapDeadParts(parts []Part, now time.Time, local bool) []*Part {
	var reaped []*Part
	for i := range parts {
		p := &parts[i]
		if p.Status != model.StatusRunning {
			continue
		}
		why := deadReason(*p, now, local)
		if why == "" {
			continue
		}
		p.Status, p.Reaped = model.StatusFailed, true
		p.Error = fmt.Sprintf("test binary for %s %s without finishing (killed, -timeout panic or os.Exit); results stored before then are kept", p.Package, why)
		finished := p.HeartbeatAt
		if local && p.Journal != "" {
			// It sent no heartbeats: it ended at its journal's last write.
			if fi, err := os.Stat(p.Journal); err == nil && fi.ModTime().After(finished) {
				finished = fi.ModTime().UTC().Truncate(time.Millisecond)
			}
		}
		p.FinishedAt = &finished
		reaped = append(reaped, p)
	}
	return reaped
}

// deadReason says why a running part's writer is taken for dead, or "" when
// it is alive. In a store on this machine (local), writers send no
// heartbeats: one with a journal is alive while it holds the journal's
// lock, which its process loses when it dies, however it dies (a PID can
// be reused); one without (no spool directory), or whose journal is gone,
// while its process runs. Otherwise: on this host and its process is gone,
// or no heartbeat for StaleAfter.
func deadReason(p Part, now time.Time, local bool) string {
	host, _ := os.Hostname()
	here := local && p.Host == host
	if here && p.Journal != "" && exists(p.Journal) {
		if journal.Held(p.Journal) {
			return ""
		}
		return "exited"
	}
	switch {
	case p.Host == host && p.PID > 0 && p.PID != os.Getpid() && !provenance.ProcessAlive(p.PID):
		return "exited"
	case !here && now.Sub(p.HeartbeatAt) > StaleAfter:
		return "stopped sending heartbeats"
	}
	return ""
}

func dead(p Part, now time.Time, local bool) bool { return deadReason(p, now, local) != "" }

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// Fingerprint says what of parts finalizing depends on: a driver that
// repeats finalizing stops when it stays the same.
func Fingerprint(parts []Part) string {
	var b strings.Builder
	for _, p := range parts {
		b.WriteString(p.ID)
		b.WriteString(p.Status)
		b.WriteString(strconv.Itoa(p.Summary.NumTests))
		b.WriteByte(';')
	}
	return b.String()
}

// A Tally is what a run's test runs add up to.
type Tally struct {
	Counts
	Values
}

// tally counts the stored test runs of a run: they, not the parts' own
// counts, say what reached the store, whether or not every writer lived
// to the end.
func (d *DB) tally(ctx context.Context, runID model.ID) (*Tally, error) {
	cctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	rs := &samples.Results{}
	if err := d.drv.Results(cctx, []model.ID{runID}, rs, func(*samples.Results) error { return nil }); err != nil {
		return nil, fmt.Errorf("counting the test runs of run %s: %w", runID.Hex(), err)
	}
	return TallyOf(rs), nil
}

// TallyOf adds up the test runs in rs, as Counts.Add and Values.Add count
// the results they came from.
func TallyOf(rs *samples.Results) *Tally {
	t := &Tally{}
	for i := range rs.Rows {
		r := &rs.Rows[i]
		t.NumTests++
		switch r.Status() {
		case result.Passed:
			t.NumPassed++
		case result.Failed:
			t.NumFailed++
		case result.Skipped:
			t.NumSkipped++
		case result.Incomplete:
			t.NumIncomplete++
		}
		// A benchmark's measurements are its own (see Values.Add), and a
		// value that was not finite is not counted.
		if !strings.HasPrefix(rs.Tests[r.Test].GoTest, "Benchmark") {
			for _, v := range rs.ValuesOf(i) {
				if math.IsNaN(v.Value) || math.IsInf(v.Value, 0) {
					continue
				}
				if t.MetricValues == nil {
					t.MetricValues = map[string][]float64{}
				}
				k := rs.Metrics[v.Metric].Key
				t.MetricValues[k] = append(t.MetricValues[k], v.Value)
			}
		}
		var score *float64
		if r.HasScore() {
			score = &r.Score
		}
		if sc, ok := RunScore(r.Status(), score); ok {
			t.Scores = append(t.Scores, sc)
		}
	}
	return t
}

// add counts a part that was never stored (a dry run's).
func (t *Tally) add(c Counts, v Values) {
	t.NumTests += c.NumTests
	t.NumPassed += c.NumPassed
	t.NumFailed += c.NumFailed
	t.NumSkipped += c.NumSkipped
	t.NumIncomplete += c.NumIncomplete
	t.Scores = append(t.Scores, v.Scores...)
	for k, vs := range v.MetricValues {
		if t.MetricValues == nil {
			t.MetricValues = map[string][]float64{}
		}
		t.MetricValues[k] = append(t.MetricValues[k], vs...)
	}
}

// totals computes a run's fields from its parts and from what its test
// runs add up to. It is a pure function of its arguments (and of now, only
// for a run that has no parts at all).
func totals(run *model.EvaluationRun, parts []Part, now time.Time, counted *Tally) {
	var errs []string
	running, failed := false, false
	var finished time.Time
	deps := provenance.ModuleMap(run.System.Dependencies)
	for _, p := range parts {
		switch p.Status {
		case model.StatusRunning:
			running = true
		case model.StatusFailed:
			failed = true
		}
		if p.Error != "" {
			errs = append(errs, p.Error)
		}
		if p.FinishedAt != nil && p.FinishedAt.After(finished) {
			finished = *p.FinishedAt
		}
		maps.Copy(deps, provenance.ModuleMap(p.Dependencies))
		if a := p.System; a != nil {
			// What a test binary announced (converter, wrapper) fills what
			// the writer could not know itself.
			maps.Copy(deps, provenance.ModuleMap(a.Dependencies))
			if len(run.System.SystemUnderTest) == 0 {
				run.System.SystemUnderTest = a.SystemUnderTest
			}
			if run.System.Module == "" {
				run.System.Module, run.System.Version, run.System.GoVersion = a.Module, a.Version, a.GoVersion
			}
		}
	}
	c := counted.Counts
	run.NumTests, run.NumPassed, run.NumFailed = c.NumTests, c.NumPassed, c.NumFailed
	run.NumSkipped, run.NumIncomplete = c.NumSkipped, c.NumIncomplete
	run.Metrics = map[string]float64{}
	run.MetricStats = map[string]model.MetricStats{}
	for k, v := range counted.MetricValues {
		st := Describe(slices.Clone(v))
		run.Metrics[k] = st.Mean
		run.MetricStats[k] = st
	}
	run.Score = nil
	if len(counted.Scores) > 0 {
		m := mean(counted.Scores)
		run.Score = &m
	}
	slices.Sort(errs)
	run.Error = strings.Join(slices.Compact(errs), "; ")
	run.System.Dependencies = provenance.MergeModules(nil, deps)
	run.SystemInfoHash = run.System.Hash()
	run.Packages = packagesOf(parts)
	if run.Project == "" {
		run.Project = run.System.Module
	}
	if run.Project == "" {
		run.Project = commonPath(run.Packages)
	}
	switch {
	case running:
		run.Status, run.FinishedAt = model.StatusRunning, nil
	case len(parts) == 0 && now.Sub(run.StartedAt) <= StaleAfter:
		run.Status, run.FinishedAt = model.StatusRunning, nil
	case len(parts) == 0:
		run.Status = model.StatusFailed
		run.Error = "no test binary reported to this run"
		run.FinishedAt = &run.StartedAt
	default:
		run.Status = model.StatusCompleted
		if failed || c.NumIncomplete > 0 {
			run.Status = model.StatusFailed
		}
		run.FinishedAt = &finished
	}
}

// packagesOf lists the packages of parts, sorted and unique.
func packagesOf(parts []Part) []string {
	out := make([]string, 0, len(parts))
	for _, p := range parts {
		out = append(out, p.Package)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// commonPath is the longest import-path prefix, by whole elements, that
// every package shares: the project of a stream read outside its module.
func commonPath(pkgs []string) string {
	if len(pkgs) == 0 {
		return ""
	}
	common := strings.Split(pkgs[0], "/")
	for _, p := range pkgs[1:] {
		parts := strings.Split(p, "/")
		n := 0
		for n < len(common) && n < len(parts) && common[n] == parts[n] {
			n++
		}
		common = common[:n]
	}
	return strings.Join(common, "/")
}

// Describe summarises values: n, mean, min, max and the 50th and 90th
// percentiles by linear interpolation between closest ranks (the method of
// R's default type 7 and NumPy's default). values may be reordered.
func Describe(values []float64) model.MetricStats {
	if len(values) == 0 {
		return model.MetricStats{}
	}
	sort.Float64s(values)
	return model.MetricStats{
		N:    len(values),
		Mean: mean(values),
		Min:  values[0],
		Max:  values[len(values)-1],
		P50:  quantile(values, 0.5),
		P90:  quantile(values, 0.9),
	}
}

// mean is the sum over the count, or, where the sum overflows (values
// near the largest float64), the sum of each value over the count, which
// stays finite: a total that is not a number cannot be stored.
func mean(vs []float64) float64 {
	var s float64
	for _, v := range vs {
		s += v
	}
	if !math.IsInf(s, 0) {
		return s / float64(len(vs))
	}
	s = 0
	n := float64(len(vs))
	for _, v := range vs {
		s += v / n
	}
	return s
}

// quantile of sorted values, type 7.
func quantile(sorted []float64, q float64) float64 {
	h := q * float64(len(sorted)-1)
	lo := math.Floor(h)
	i := int(lo)
	if i+1 >= len(sorted) {
		return sorted[len(sorted)-1]
	}
	a, b, f := sorted[i], sorted[i+1], h-lo
	if d := b - a; !math.IsInf(d, 0) {
		return a + f*d
	}
	return a*(1-f) + b*f // values of both signs near the largest float64
}

// ReapStale finalizes the most recent runs still marked running (but those
// in except, the caller's own), which marks those whose writers died as
// failed: at once when the writer ran on this host and its process is gone,
// else after StaleAfter without a heartbeat. Runs that are really running
// stay so. It reads at most limit runs and returns how many it looked at.
func (d *DB) ReapStale(ctx context.Context, now time.Time, limit int64, except ...model.ID) (int, error) {
	cctx, cancel := context.WithTimeout(ctx, opTimeout)
	runs, err := d.drv.Runs(cctx, RunFilter{Status: model.StatusRunning, Except: except, Limit: limit})
	cancel()
	if err != nil {
		return 0, err
	}
	var errs []error
	for _, r := range runs {
		if _, err := d.Finalize(ctx, r.ID, now); err != nil {
			errs = append(errs, err)
		}
	}
	return len(runs), errors.Join(errs...)
}
