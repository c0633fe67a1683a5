package ingest

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"evalrec.dev/provenance"
	"evalrec.dev/result"
)

// Package statuses.
const (
	PackagePassed      = "passed"
	PackageFailed      = "failed"
	PackageSkipped     = "skipped" // no test files
	PackageBuildFailed = "build-failed"
	PackageIncomplete  = "incomplete" // the stream ended before the package did
)

// Package is one lifetime of a package in the stream. A stream may run a
// package more than once: gotestsum --rerun-fails appends the reruns, and
// saved streams are concatenated. Each lifetime is reported on its own, and
// a test's attempts are numbered across all of them, so no execution
// shadows another.
type Package struct {
	Name string
	// Occurrence numbers the package's lifetimes in the stream, from 1.
	Occurrence int
	Status     string
	Elapsed    time.Duration
	Started    time.Time
	Ended      time.Time
	Cached     bool
	// Output is the tail of the package-level output (outside any test), and
	// for a build failure, the build output.
	Output string
	// Failed and Incomplete count this package's tests that failed, and
	// that never ended.
	Failed, Incomplete int
	// Panic is the first "panic: ..." line when a test panicked (or hit
	// -timeout): the binary stopped there, so the tests after it never ran.
	Panic string
	// System is what the test binary announced about itself (evalrec.Main
	// does in -json mode): module, dependencies, system under test.
	System *provenance.System
	// Interleaved says the package's events went back in time, which one
	// go test process never does: two streams were mixed line by line, and
	// which test an event belongs to can no longer be told. Every execution
	// is still reported.
	Interleaved bool
	// SetupFailed says go test could not set the package up to build: it
	// does not exist, or has no Go files.
	SetupFailed bool
	// UncachedOut counts tests handed on before the package ended and so
	// before it was known to be cached (see [Ingester.Release]).
	UncachedOut int
}

// Broken reports whether the package itself broke, as opposed to having
// failing tests: a build failure, a panic, a timeout, an os.Exit, a cut
// stream, or a failure with no failing test (TestMain or init failed).
func (p *Package) Broken() bool {
	return p.Status == PackageBuildFailed || p.Status == PackageIncomplete || p.Incomplete > 0 || p.Panic != "" ||
		p.FailedWithoutTest()
}

// NeverStarted reports a package whose tests never got to start because
// of how go test was called: a package or directory that does not exist, a
// directory without Go files (where a mistyped go flag ends the package
// list), or a flag the test binary does not define.
func (p *Package) NeverStarted() bool {
	switch {
	case p.Status == PackageBuildFailed:
		return p.SetupFailed
	case p.FailedWithoutTest():
		return strings.Contains(p.Output, "flag provided but not defined: ")
	}
	return false
}

// FailedWithoutTest reports a package that failed although none of its
// tests did.
func (p *Package) FailedWithoutTest() bool {
	return p.Status == PackageFailed && p.Failed == 0 && p.Incomplete == 0
}

// A Sink receives what the Ingester finds, in stream order. A package
// lifetime's tests come between its BeginPackage and EndPackage, and
// lifetimes of the same package never overlap. BeginPackage's argument
// holds the name, occurrence and start only.
type Sink interface {
	BeginPackage(p *Package)
	Test(t *result.Test)
	EndPackage(p *Package)
}

// Stats counts what went through the Ingester.
type Stats struct {
	Events     int
	Tests      int
	Packages   int // package lifetimes
	BadLines   int
	FirstBad   []*LineError // the first few, for the report
	AttrErrors int
	// FirstAttrError is the first attribute that could not be read, said
	// in the one line that reports them.
	FirstAttrError error
	// LateAttrs counts attributes that arrived after their test had ended
	// (a goroutine that outlived its test called Record): they are ignored.
	LateAttrs int
	// Rerun counts package lifetimes after a package's first.
	Rerun int
	// Interleaved counts package lifetimes whose events went back in time.
	Interleaved int
}

const keepBadLines = 5

// Ingester follows a test2json stream and reports finished tests and
// packages to its sink. Feed it with [Ingester.Event] and [Ingester.BadLine],
// and call [Ingester.Close] at the end of the stream.
type Ingester struct {
	sink   Sink
	Stats  Stats
	pkgs   map[string]*pkgState
	builds map[string]*tail // build output by ImportPath
	first  time.Time
	// attempts numbers the executions of each test, per package, across
	// the package's lifetimes; lifetimes counts those. They grow with the
	// distinct tests of the stream, not with its length.
	attempts  map[string]map[string]int
	lifetimes map[string]int
	// Now is the wall clock that times how long finished tests are held;
	// see [Ingester.Release].
	Now func() time.Time
	// spare holds output buffers of ended tests for the next ones: most
	// tests pass, and their output is dropped.
	spare [][]byte
}

// maxSpare bounds the spare output buffers, and spareCap the size of one.
const (
	maxSpare = 64
	spareCap = 4 << 10
)

type pkgState struct {
	Package
	// open holds the attempts that have begun and not ended, oldest first:
	// a terminal event ends the oldest. One go test process never runs two
	// attempts of a test at once; a mixed stream does.
	open map[string][]*testState
	// ended holds tests that ended in this lifetime and have not run
	// again: an attribute for one of them arrived too late.
	ended     map[string]bool
	done      []*result.Test // finished, held until the package ends
	heldAt    time.Time      // wall clock when done last became non-empty
	streaming bool           // tests go out as they end
	out       tail
	line      strings.Builder // package output not yet ended by a newline
	benchText strings.Builder
	lastTime  time.Time
	backwards int // events earlier than the one before
}

type testState struct {
	result.Test
	out    tail
	chunks *result.Chunks // attributes split across several attr events
}

// New returns an Ingester reporting to sink.
func New(sink Sink) *Ingester {
	return &Ingester{sink: sink, pkgs: map[string]*pkgState{}, builds: map[string]*tail{},
		attempts: map[string]map[string]int{}, lifetimes: map[string]int{}, Now: time.Now}
}

// FirstTime is the time of the first timed event, or zero.
func (in *Ingester) FirstTime() time.Time { return in.first }

// BadLine records a line that was not an event.
func (in *Ingester) BadLine(e *LineError) {
	in.Stats.BadLines++
	if len(in.Stats.FirstBad) < keepBadLines {
		in.Stats.FirstBad = append(in.Stats.FirstBad, e)
	}
}

// Event processes one event. ev is not retained.
func (in *Ingester) Event(ev *Event) {
	in.Stats.Events++
	if ev.Time != nil && in.first.IsZero() {
		in.first = *ev.Time
	}
	switch ev.Action {
	case "build-output":
		b := in.builds[ev.ImportPath]
		if b == nil {
			b = &tail{}
			in.builds[ev.ImportPath] = b
		}
		b.WriteString(ev.Output)
		return
	case "build-fail":
		return // the package's fail event, with FailedBuild, follows
	case "start":
		if p := in.pkgs[ev.Package]; p != nil && p.begun() {
			// A package starts again before it ended: the stream was cut
			// and another appended. What was open never ended.
			p.Status = PackageIncomplete
			in.endPackage(p, PackageIncomplete, nil)
		}
	}
	// An event with no Package is valid: go tool test2json run without -p
	// writes none. Such tests belong to the package named "".
	p := in.pkg(ev)
	p.clock(ev.Time)
	if ev.Test == "" {
		in.packageEvent(p, ev)
		return
	}
	t := p.oldest(ev.Test)
	switch ev.Action {
	case "run":
		t = in.newAttempt(p, ev)
	case "output":
		if t == nil {
			if p.ended[ev.Test] {
				return // a framing line testing prints after the end
			}
			t = in.newAttempt(p, ev)
		}
		t.out.WriteString(ev.Output)
		if strings.HasPrefix(ev.Test, "Benchmark") {
			// Go attributes some benchmark result lines to the benchmark
			// and the rest to the package.
			in.benchOutput(p, ev.Output)
		}
	case "attr":
		if t == nil {
			if p.ended[ev.Test] {
				in.Stats.LateAttrs++
				return
			}
			t = in.newAttempt(p, ev)
		}
		in.attr(t, ev.Key, ev.Value)
	case "pass", "fail", "skip":
		if t == nil {
			t = in.newAttempt(p, ev)
		}
		in.finishTest(p, t, testStatus(ev.Action), ev)
	case "bench":
		// A benchmark that logged: its results arrive as package output.
		if t != nil {
			p.close(t)
		}
	default:
		// pause, cont, and actions added after this was written.
	}
}

// attr folds one attribute into t, joining one split across several.
func (in *Ingester) attr(t *testState, key, value string) {
	if t.chunks == nil {
		t.chunks = &result.Chunks{}
	}
	key, value, ok := t.chunks.Add(key, value)
	if !ok {
		return // more pieces to come
	}
	if err := t.ApplyAttr(key, value); err != nil {
		in.Stats.AttrErrors++
		if in.Stats.FirstAttrError == nil {
			in.Stats.FirstAttrError = fmt.Errorf("%s: %w", t.Name, err)
		}
	}
}

func testStatus(action string) result.Status {
	switch action {
	case "fail":
		return result.Failed
	case "skip":
		return result.Skipped
	}
	return result.Passed
}

// newAttempt starts an execution of ev.Test: on its run event, or on the
// first event seen of it (a stream that began mid-test, or one whose run
// events are missing).
func (in *Ingester) newAttempt(p *pkgState, ev *Event) *testState {
	n := in.attempts[p.Name]
	n[ev.Test]++
	t := &testState{Test: result.Test{Package: ev.Package, Name: ev.Test, Attempt: n[ev.Test]}}
	if k := len(in.spare); k > 0 {
		t.out.buf, in.spare = in.spare[k-1], in.spare[:k-1]
	}
	if ev.Time != nil {
		t.Started = *ev.Time
	}
	p.open[ev.Test] = append(p.open[ev.Test], t)
	delete(p.ended, ev.Test)
	return t
}

// oldest returns the oldest open attempt of name, or nil.
func (p *pkgState) oldest(name string) *testState {
	if q := p.open[name]; len(q) > 0 {
		return q[0]
	}
	return nil
}

// close removes t from the open attempts.
func (p *pkgState) close(t *testState) {
	q := p.open[t.Name]
	for i, o := range q {
		if o == t {
			q = append(q[:i:i], q[i+1:]...)
			break
		}
	}
	if len(q) == 0 {
		delete(p.open, t.Name)
		p.ended[t.Name] = true
	} else {
		p.open[t.Name] = q
	}
}

// begun reports whether anything happened in this lifetime beyond its
// start event.
func (p *pkgState) begun() bool {
	return len(p.open) > 0 || len(p.ended) > 0 || len(p.done) > 0 || p.out.Len() > 0
}

// clock follows the package's event times. One go test process stamps a
// package's events in order; events that go back in time more than once
// come from two streams mixed together.
func (p *pkgState) clock(t *time.Time) {
	if t == nil {
		return
	}
	if t.Before(p.lastTime) {
		p.backwards++
		if p.backwards == 2 {
			p.Interleaved = true
		}
	}
	if t.After(p.lastTime) {
		p.lastTime = *t
	}
}

func (in *Ingester) pkg(ev *Event) *pkgState {
	p := in.pkgs[ev.Package]
	if p == nil {
		in.lifetimes[ev.Package]++
		p = &pkgState{Package: Package{Name: ev.Package, Occurrence: in.lifetimes[ev.Package]},
			open: map[string][]*testState{}, ended: map[string]bool{}}
		if ev.Time != nil {
			p.Started = *ev.Time
		}
		if in.attempts[ev.Package] == nil {
			in.attempts[ev.Package] = map[string]int{}
		}
		in.pkgs[ev.Package] = p
		in.Stats.Packages++
		if p.Occurrence > 1 {
			in.Stats.Rerun++
		}
		begin := Package{Name: p.Name, Occurrence: p.Occurrence, Started: p.Started}
		in.sink.BeginPackage(&begin)
	}
	return p
}

func (in *Ingester) finishTest(p *pkgState, t *testState, st result.Status, ev *Event) {
	p.close(t)
	t.Status = st
	if ev != nil && ev.Time != nil {
		t.Finished = *ev.Time
	} else {
		t.Finished = p.lastTime
	}
	if ev != nil && ev.Elapsed != nil {
		t.Duration, t.Timed = time.Duration(*ev.Elapsed*float64(time.Second)), true
		if t.Started.IsZero() {
			t.Started = t.Finished.Add(-t.Duration)
		}
	}
	if st == result.Failed {
		p.Failed++
	}
	if st == result.Failed || st == result.Incomplete {
		t.Output = t.out.String()
		if l := panicLine(t.Output); l != "" && p.Panic == "" {
			p.Panic = t.Name + ": " + l
		}
	}
	if t.chunks != nil && t.chunks.Pending() > 0 {
		in.Stats.AttrErrors += t.chunks.Pending() // a split attribute never completed
	}
	if b := t.out.buf; cap(b) > 0 && cap(b) <= spareCap && len(in.spare) < maxSpare {
		in.spare = append(in.spare, b[:0])
	}
	t.out = tail{}
	in.emit(p, &t.Test)
}

// maxHeld bounds the finished tests held per package. They are held because
// go test marks a cached package only after replaying all its tests; past
// this bound tests go out as they end, without the cached flag.
const maxHeld = 10000

// MaxHold is how long a finished test may wait for its package to end
// before [Ingester.Release] hands it on. A cached package replays in one
// burst and ends well within it, so its tests go out flagged; a package
// that is really running hands its tests on within MaxHold, so a killed
// reader loses at most that much.
const MaxHold = 500 * time.Millisecond

func (in *Ingester) emit(p *pkgState, t *result.Test) {
	in.Stats.Tests++
	if !p.streaming && len(p.done) < maxHeld {
		if len(p.done) == 0 {
			p.heldAt = in.Now()
		}
		p.done = append(p.done, t)
		return
	}
	if !p.streaming {
		p.streaming = true
		in.release(p)
	}
	p.UncachedOut++
	in.sink.Test(t)
}

// Release hands on the finished tests that a running package has held for
// MaxHold or longer, and from then on that package's tests as they end. A
// reader that follows a live stream calls it every so often, from the same
// goroutine as Event or under the same lock.
func (in *Ingester) Release() {
	now := in.Now()
	for _, name := range slices.Sorted(maps.Keys(in.pkgs)) {
		p := in.pkgs[name]
		if len(p.done) > 0 && now.Sub(p.heldAt) >= MaxHold {
			p.streaming = true
			p.UncachedOut += len(p.done)
			in.release(p)
		}
	}
}

func (in *Ingester) release(p *pkgState) {
	for _, t := range p.done {
		t.Cached = p.Cached
		in.sink.Test(t)
	}
	p.done = nil
}

func (in *Ingester) packageEvent(p *pkgState, ev *Event) {
	switch ev.Action {
	case "output":
		in.packageOutput(p, ev.Output)
	case "pass", "fail", "skip":
		status := PackagePassed
		switch ev.Action {
		case "fail":
			status = PackageFailed
		case "skip":
			status = PackageSkipped
		}
		if ev.FailedBuild != "" {
			status = PackageBuildFailed
			p.SetupFailed = strings.Contains(p.out.String(), "[setup failed]")
			// Several packages may name the same failed build (go test
			// -bench does this for packages linked together), so the
			// build output stays for the others.
			if b := in.builds[ev.FailedBuild]; b != nil {
				p.Output = b.String()
			}
		}
		if ev.Elapsed != nil {
			p.Elapsed = time.Duration(*ev.Elapsed * float64(time.Second))
		}
		in.endPackage(p, status, ev)
	}
}

// maxPackageLine bounds a package output line being rejoined.
const maxPackageLine = 8 << 20

func (in *Ingester) packageOutput(p *pkgState, s string) {
	p.out.WriteString(s)
	in.benchOutput(p, s)
	// test2json splits lines at about 1 KiB; rejoin before reading them.
	if !strings.Contains(s, "\n") {
		if p.line.Len() < maxPackageLine {
			p.line.WriteString(s)
		}
		return
	}
	if p.line.Len() > 0 {
		p.line.WriteString(s)
		s = p.line.String()
		p.line.Reset()
	}
	for line := range strings.Lines(s) {
		in.packageLine(p, line)
	}
}

func (in *Ingester) packageLine(p *pkgState, line string) {
	if strings.Contains(line, "\t(cached)") {
		p.Cached = true
	}
	if rest, ok := strings.CutPrefix(line, result.SystemLinePrefix); ok {
		var sys provenance.System
		if json.Unmarshal([]byte(strings.TrimSpace(rest)), &sys) == nil {
			p.System = &sys
		}
	}
}

// benchOutput keeps benchmark lines, and the rest of a result line that
// test2json split after its "BenchmarkX \t" prefix, for benchfmt.
func (in *Ingester) benchOutput(p *pkgState, s string) {
	partial := p.benchText.Len() > 0 && !strings.HasSuffix(p.benchText.String(), "\n")
	if (looksLikeBench(s) || partial) && p.benchText.Len() < maxBenchText {
		p.benchText.WriteString(s)
	}
}

// endPackage closes the package: tests still open never ended, so they are
// incomplete; benchmark results are parsed.
func (in *Ingester) endPackage(p *pkgState, status string, ev *Event) {
	delete(in.pkgs, p.Name)
	if ev != nil && ev.Time != nil {
		p.Ended = *ev.Time
	} else {
		p.Ended = p.lastTime
	}
	for _, b := range parseBenchmarks(p.Name, p.benchText.String(), p.Ended) {
		// A benchmark's run event leaves an entry that never gets a pass
		// event (golang/go#61767); its result line, or a parent's, ends it.
		for name, q := range p.open {
			if name == b.Name || strings.HasPrefix(b.Name, name+"/") {
				for _, t := range q {
					p.close(t)
				}
			}
		}
		b.Attempt = in.nextBenchAttempt(p.Name, b.Name)
		in.emit(p, b)
	}
	for _, t := range openTests(p.open) {
		if strings.HasPrefix(t.Name, "Benchmark") && status == PackagePassed {
			p.close(t)
			continue // a benchmark with no result line that did not fail
		}
		p.Incomplete++
		if t.out.Len() == 0 {
			// The panic or timeout trace went to the package, not the test.
			t.out.WriteString(p.out.String())
		}
		in.finishTest(p, t, result.Incomplete, nil)
	}
	if p.Status == "" {
		p.Status = status
	}
	if l := panicLine(p.out.String()); l != "" && p.Panic == "" {
		p.Panic = l
	}
	if p.Output == "" && (status == PackageFailed || p.Incomplete > 0) {
		p.Output = p.out.String()
	}
	if p.Interleaved {
		in.Stats.Interleaved++
	}
	in.release(p)
	in.sink.EndPackage(&p.Package)
}

// nextBenchAttempt numbers benchmark samples. They have their own counter:
// a benchmark's run event is not one per sample.
func (in *Ingester) nextBenchAttempt(pkg, name string) int {
	n := in.attempts[pkg]
	k := "\x00bench\x00" + name
	n[k]++
	return n[k]
}

// Close ends the stream: packages that never ended are incomplete.
func (in *Ingester) Close() {
	for _, name := range slices.Sorted(maps.Keys(in.pkgs)) {
		p := in.pkgs[name]
		p.Status = PackageIncomplete
		in.endPackage(p, PackageIncomplete, nil)
	}
}

// panicLine returns the first line of a Go panic trace in out (which also
// covers the -timeout panic), or "".
func panicLine(out string) string {
	i := strings.Index(out, "\npanic: ")
	if i >= 0 {
		out = out[i+1:]
	} else if !strings.HasPrefix(out, "panic: ") {
		return ""
	}
	line, _, _ := strings.Cut(out, "\n")
	return line
}
