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

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"evalrec.dev/provenance"
	"evalrec.dev/result"
)

// StaleAfter is how long a part may go without a heartbeat before its writer
// is taken for dead. Writers beat every flush interval (2 s by default).
const StaleAfter = time.Minute

// opTimeout bounds each read and write of finalization.
const opTimeout = 10 * time.Second

// Finalize recomputes a run's totals from its parts and writes them with one
// deterministic $set. Any writer may call it at any time, as often as it
// likes: when the last part has ended, the totals are exact and the status
// is final.
//
// Several test binaries of one invocation may finalize at once. Each writes
// the totals of the parts it read, so a writer that read before another part
// ended could overwrite newer totals. To converge, Finalize reads the parts
// again after writing and repeats while they changed: the last write is then
// made by a writer that saw every part.
//
// Parts whose writer died (same host and its process is gone, or no heartbeat
// for StaleAfter) are marked failed first, so a killed binary does not leave
// its run running for ever.
func (d *DB) Finalize(ctx context.Context, runID bson.ObjectID, now time.Time) (*EvaluationRun, error) {
	return d.finalize(ctx, runID, now, nil, nil)
}

// finalize is Finalize starting from parts, the run's parts as the caller
// just read them, when it has them: each read of the parts is a full scan
// of their collection on FerretDB. known holds the values of parts the
// caller wrote itself and still has, which need not be read back.
func (d *DB) finalize(ctx context.Context, runID bson.ObjectID, now time.Time, parts []Part, known map[string]Values) (*EvaluationRun, error) {
	var run EvaluationRun
	if err := d.findOne(ctx, d.runs(), bson.D{{Key: "_id", Value: runID}}, &run); err != nil {
		return nil, fmt.Errorf("reading run %s: %w", runID.Hex(), err)
	}
	last := "\x00" // matches no real fingerprint, so the first pass writes
	for range 8 {
		var err error
		if parts == nil {
			if parts, err = d.readParts(ctx, runID); err != nil {
				return nil, err
			}
		}
		// After the live parts: a part moves to the archive before it
		// leaves the live collection, so it is seen in one or the other.
		if parts, err = d.withArchived(ctx, runID, parts); err != nil {
			return nil, err
		}
		if err := d.reapDeadParts(ctx, parts, now); err != nil {
			return nil, err
		}
		if fp := fingerprint(parts); fp == last {
			break
		} else {
			last = fp
		}
		if err := d.readValues(ctx, parts, known); err != nil {
			return nil, err
		}
		// A part whose writer died counted what it queued, not what
		// reached the store: count the stored test runs instead.
		var counted *Tally
		if slices.ContainsFunc(parts, func(p Part) bool { return p.Reaped }) {
			if counted, err = d.tally(ctx, runID); err != nil {
				return nil, err
			}
		}
		stored := run.SystemInfoHash
		totals(&run, parts, now, counted)
		set := bson.D{
			{Key: "finished_at", Value: run.FinishedAt},
			{Key: "metrics", Value: run.Metrics},
			{Key: "metric_stats", Value: run.MetricStats},
			{Key: "num_tests", Value: run.NumTests},
			{Key: "num_passed", Value: run.NumPassed},
			{Key: "num_failed", Value: run.NumFailed},
			{Key: "num_skipped", Value: run.NumSkipped},
			{Key: "num_incomplete", Value: run.NumIncomplete},
			{Key: "status", Value: run.Status},
			{Key: "score", Value: run.Score},
			{Key: "error", Value: run.Error},
			{Key: "packages", Value: run.Packages},
			{Key: "project", Value: run.Project},
		}
		if run.SystemInfoHash != stored {
			// The hash covers these fields: unchanged, they are not
			// rewritten (the dependency list is the largest part of the
			// run document).
			set = append(set,
				bson.E{Key: "system_information.dependencies", Value: run.System.Dependencies},
				bson.E{Key: "system_information.system_under_test", Value: run.System.SystemUnderTest},
				bson.E{Key: "system_information.module", Value: run.System.Module},
				bson.E{Key: "system_information.module_version", Value: run.System.Version},
				bson.E{Key: "system_information.go_version", Value: run.System.GoVersion},
				bson.E{Key: "system_info_hash", Value: run.SystemInfoHash},
			)
		}
		cctx, cancel := context.WithTimeout(ctx, opTimeout)
		_, err = d.runs().UpdateOne(cctx, bson.D{{Key: "_id", Value: runID}}, bson.D{{Key: "$set", Value: set}})
		cancel()
		if err != nil {
			return nil, fmt.Errorf("writing totals of run %s: %w", run.EvaluationRunID, err)
		}
		parts = nil
	}
	return &run, nil
}

func (d *DB) findOne(ctx context.Context, c *mongo.Collection, filter bson.D, out any) error {
	cctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	return c.FindOne(cctx, filter).Decode(out)
}

func (d *DB) readParts(ctx context.Context, runID bson.ObjectID) ([]Part, error) {
	cctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	cur, err := d.parts().Find(cctx, bson.D{{Key: "evaluation_run_id", Value: runID}}, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		return nil, fmt.Errorf("reading parts of run %s: %w", runID.Hex(), err)
	}
	var parts []Part
	if err := cur.All(cctx, &parts); err != nil {
		return nil, fmt.Errorf("reading parts of run %s: %w", runID.Hex(), err)
	}
	return parts, nil
}

// readValues fills each part's Values, from known or by _id. (FerretDB v1
// answers even an _id lookup with a scan of the collection: its filter and
// its _id index use different expressions. Archiving keeps this one small.)
func (d *DB) readValues(ctx context.Context, parts []Part, known map[string]Values) error {
	for i := range parts {
		if v, ok := known[parts[i].ID]; ok {
			parts[i].Values = v
			continue
		}
		var v PartValues
		err := d.findOne(ctx, d.db.Collection(PartValuesCollection), bson.D{{Key: "_id", Value: parts[i].ID}}, &v)
		switch {
		case errors.Is(err, mongo.ErrNoDocuments):
			// Written by an older writer, or not yet: counts only.
		case err != nil:
			return fmt.Errorf("reading values of part %s: %w", parts[i].ID, err)
		default:
			parts[i].Values = v.Values
		}
	}
	return nil
}

// reapDeadParts marks running parts whose writer is gone as failed, in the
// database and in parts.
func (d *DB) reapDeadParts(ctx context.Context, parts []Part, now time.Time) error {
	for i := range parts {
		p := &parts[i]
		if p.Status != StatusRunning {
			continue
		}
		why := deadReason(*p, now)
		if why == "" {
			continue
		}
		p.Status, p.Reaped = StatusFailed, true
		p.Error = fmt.Sprintf("test binary for %s %s without finishing (killed, -timeout panic or os.Exit); results stored before then are kept", p.Package, why)
		finished := p.HeartbeatAt
		p.FinishedAt = &finished
		cctx, cancel := context.WithTimeout(ctx, opTimeout)
		_, err := d.parts().UpdateOne(cctx, bson.D{{Key: "_id", Value: p.ID}, {Key: "status", Value: StatusRunning}},
			bson.D{{Key: "$set", Value: bson.D{{Key: "status", Value: p.Status}, {Key: "error", Value: p.Error},
				{Key: "finished_at", Value: p.FinishedAt}, {Key: "reaped", Value: true}}}})
		cancel()
		if err != nil {
			return fmt.Errorf("marking part %s failed: %w", p.ID, err)
		}
	}
	return nil
}

// deadReason says why a running part's writer is taken for dead, or "" when
// it is alive: on this host and its process is gone, or no heartbeat for
// StaleAfter.
func deadReason(p Part, now time.Time) string {
	host, _ := os.Hostname()
	switch {
	case p.Host == host && p.PID > 0 && p.PID != os.Getpid() && !provenance.ProcessAlive(p.PID):
		return "exited"
	case now.Sub(p.HeartbeatAt) > StaleAfter:
		return "stopped sending heartbeats"
	}
	return ""
}

func dead(p Part, now time.Time) bool { return deadReason(p, now) != "" }

func fingerprint(parts []Part) string {
	var b strings.Builder
	for _, p := range parts {
		b.WriteString(p.ID)
		b.WriteString(p.Status)
		b.WriteString(strconv.Itoa(p.Summary.NumTests))
		b.WriteByte(';')
	}
	return b.String()
}

// A Tally is what a run's stored test runs add up to.
type Tally struct {
	Counts
	Values
}

// tally counts the stored test runs of a run. Parts say the same at less
// cost while their writers live; after a writer died, only the stored test
// runs say what reached the store.
func (d *DB) tally(ctx context.Context, runID bson.ObjectID) (*Tally, error) {
	cctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	cur, err := d.tests().Find(cctx, bson.D{{Key: "evaluation_run_id", Value: runID}},
		options.Find().SetProjection(bson.D{{Key: "status", Value: 1}, {Key: "score", Value: 1}, {Key: "metrics", Value: 1}}))
	if err != nil {
		return nil, fmt.Errorf("counting the test runs of run %s: %w", runID.Hex(), err)
	}
	defer cur.Close(cctx)
	t := &Tally{}
	for cur.Next(cctx) {
		var tr TestRun
		if err := cur.Decode(&tr); err != nil {
			return nil, err
		}
		t.addStored(&tr)
	}
	return t, cur.Err()
}

// addStored counts one stored test run, as Counts.Add and Values.Add count
// the result it came from.
func (t *Tally) addStored(tr *TestRun) {
	t.NumTests++
	switch result.Status(tr.Status) {
	case result.Passed:
		t.NumPassed++
	case result.Failed:
		t.NumFailed++
	case result.Skipped:
		t.NumSkipped++
	case result.Incomplete:
		t.NumIncomplete++
	}
	for k, m := range tr.Metrics {
		if m.Value == nil {
			continue
		}
		if t.MetricValues == nil {
			t.MetricValues = map[string]Floats{}
		}
		t.MetricValues[k] = append(t.MetricValues[k], *m.Value)
	}
	if sc, ok := RunScore(result.Status(tr.Status), tr.Score); ok {
		t.Scores = append(t.Scores, sc)
	}
}

// totals computes a run's fields from its parts, and its counts and values
// from counted instead when given. It is a pure function of its arguments
// (and of now, only for a run that has no parts at all).
func totals(run *EvaluationRun, parts []Part, now time.Time, counted *Tally) {
	var sum Counts
	var scores Values
	values := map[string][]float64{}
	var errs []string
	running, failed := false, false
	var finished time.Time
	deps := provenance.ModuleMap(run.System.Dependencies)
	for _, p := range parts {
		s := p.Summary
		sum.NumTests += s.NumTests
		sum.NumPassed += s.NumPassed
		sum.NumFailed += s.NumFailed
		sum.NumSkipped += s.NumSkipped
		sum.NumIncomplete += s.NumIncomplete
		scores.Scores = append(scores.Scores, p.Values.Scores...)
		scores.MetricScores = append(scores.MetricScores, p.Values.MetricScores...)
		scores.StatusScores = append(scores.StatusScores, p.Values.StatusScores...)
		for k, v := range p.Values.MetricValues {
			values[k] = append(values[k], v...)
		}
		switch p.Status {
		case StatusRunning:
			running = true
		case StatusFailed:
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
	if counted != nil {
		sum, scores = counted.Counts, Values{Scores: counted.Scores}
		values = map[string][]float64{}
		for k, v := range counted.MetricValues {
			values[k] = v
		}
	}
	run.NumTests, run.NumPassed, run.NumFailed = sum.NumTests, sum.NumPassed, sum.NumFailed
	run.NumSkipped, run.NumIncomplete = sum.NumSkipped, sum.NumIncomplete
	run.Metrics = map[string]float64{}
	run.MetricStats = map[string]MetricStats{}
	for k, v := range values {
		st := Describe(v)
		run.Metrics[k] = st.Mean
		run.MetricStats[k] = st
	}
	run.Score = nil
	switch {
	case len(scores.Scores) > 0:
		m := mean(scores.Scores)
		run.Score = &m
	case len(scores.MetricScores) > 0: // parts written by an earlier version
		m := mean(scores.MetricScores)
		run.Score = &m
	case len(scores.StatusScores) > 0:
		m := mean(scores.StatusScores)
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
		run.Status, run.FinishedAt = StatusRunning, nil
	case len(parts) == 0 && now.Sub(run.StartedAt) <= StaleAfter:
		run.Status, run.FinishedAt = StatusRunning, nil
	case len(parts) == 0:
		run.Status = StatusFailed
		run.Error = "no test binary reported to this run"
		run.FinishedAt = &run.StartedAt
	default:
		run.Status = StatusCompleted
		if failed || sum.NumIncomplete > 0 {
			run.Status = StatusFailed
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
func Describe(values []float64) MetricStats {
	if len(values) == 0 {
		return MetricStats{}
	}
	sort.Float64s(values)
	return MetricStats{
		N:    len(values),
		Mean: mean(values),
		Min:  values[0],
		Max:  values[len(values)-1],
		P50:  quantile(values, 0.5),
		P90:  quantile(values, 0.9),
	}
}

func mean(vs []float64) float64 {
	var s float64
	for _, v := range vs {
		s += v
	}
	return s / float64(len(vs))
}

// quantile of sorted values, type 7.
func quantile(sorted []float64, q float64) float64 {
	h := q * float64(len(sorted)-1)
	lo := math.Floor(h)
	i := int(lo)
	if i+1 >= len(sorted) {
		return sorted[len(sorted)-1]
	}
	return sorted[i] + (h-lo)*(sorted[i+1]-sorted[i])
}

// ReapStale finalizes the most recent runs still marked running (but those
// in except, the caller's own), which marks
// those whose writers died as failed: at once when the writer ran on this host
// and its process is gone, else after StaleAfter without a heartbeat. Runs
// that are really running stay so. It reads at most limit runs and returns
// how many it looked at.
func (d *DB) ReapStale(ctx context.Context, now time.Time, limit int64, except ...bson.ObjectID) (int, error) {
	cctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	filter := bson.D{{Key: "status", Value: StatusRunning}}
	if len(except) > 0 {
		filter = append(filter, bson.E{Key: "_id", Value: bson.D{{Key: "$nin", Value: except}}})
	}
	cur, err := d.runs().Find(cctx, filter,
		options.Find().SetProjection(bson.D{{Key: "_id", Value: 1}}).SetSort(newestFirst).SetLimit(limit))
	if err != nil {
		return 0, err
	}
	var ids []struct {
		ID bson.ObjectID `bson:"_id"`
	}
	if err := cur.All(cctx, &ids); err != nil {
		return 0, err
	}
	var errs []error
	for _, r := range ids {
		if _, err := d.Finalize(ctx, r.ID, now); err != nil {
			errs = append(errs, err)
		}
	}
	return len(ids), errors.Join(errs...)
}
