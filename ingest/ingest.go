package ingest

import (
	"encoding/json"
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

// Package is one package of the stream, reported when it ends.
type Package struct {
	Name    string
	Status  string
	Elapsed time.Duration
	Started time.Time
	Ended   time.Time
	Cached  bool
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
}

// Broken reports whether the package itself broke, as opposed to having
// failing tests: a build failure, a panic, a timeout, an os.Exit, a cut
// stream, or a failure with no failing test (TestMain or init failed).
func (p *Package) Broken() bool {
	return p.Status == PackageBuildFailed || p.Status == PackageIncomplete || p.Incomplete > 0 || p.Panic != "" ||
		p.FailedWithoutTest()
}

// FailedWithoutTest reports a package that failed although none of its
// tests did.
func (p *Package) FailedWithoutTest() bool {
	return p.Status == PackageFailed && p.Failed == 0 && p.Incomplete == 0
}

// A Sink receives what the Ingester finds, in stream order. A package's tests
// come between its BeginPackage and EndPackage.
type Sink interface {
	BeginPackage(name string, at time.Time)
	Test(t *result.Test)
	EndPackage(p *Package)
}

// Stats counts what went through the Ingester.
type Stats struct {
	Events     int
	Tests      int
	Packages   int
	BadLines   int
	FirstBad   []*LineError // the first few, for the report
	AttrErrors int
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
}

type pkgState struct {
	Package
	tests     map[string]*testState
	done      []*result.Test // finished, held until the package ends
	streaming bool           // done overflowed: tests go out as they end
	// attempts numbers the runs of each test. It lives with the package:
	// every -count iteration runs within one package's lifetime, and memory
	// must not grow with the stream.
	attempts  map[string]int
	out       tail
	line      strings.Builder // package output not yet ended by a newline
	benchText strings.Builder
	lastTime  time.Time
}

type testState struct {
	result.Test
	out tail
}

// New returns an Ingester reporting to sink.
func New(sink Sink) *Ingester {
	return &Ingester{sink: sink, pkgs: map[string]*pkgState{}, builds: map[string]*tail{}}
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
	}
	// An event with no Package is valid: go tool test2json run without -p
	// writes none. Such tests belong to the package named "".
	p := in.pkg(ev)
	if ev.Time != nil {
		p.lastTime = *ev.Time
	}
	if ev.Test == "" {
		in.packageEvent(p, ev)
		return
	}
	t := p.tests[ev.Test]
	switch ev.Action {
	case "run":
		if t != nil {
			// A run without an end for the previous attempt: close it.
			in.finishTest(p, t, result.Incomplete, ev)
		}
		p.attempts[ev.Test]++
		t = &testState{Test: result.Test{Package: ev.Package, Name: ev.Test, Attempt: p.attempts[ev.Test]}}
		if ev.Time != nil {
			t.Started = *ev.Time
		}
		p.tests[ev.Test] = t
	case "output":
		if t == nil {
			t = in.lateTest(p, ev)
		}
		t.out.WriteString(ev.Output)
		if strings.HasPrefix(ev.Test, "Benchmark") {
			// Go attributes some benchmark result lines to the benchmark
			// and the rest to the package.
			in.benchOutput(p, ev.Output)
		}
	case "attr":
		if t == nil {
			t = in.lateTest(p, ev)
		}
		if err := t.ApplyAttr(ev.Key, ev.Value); err != nil {
			in.Stats.AttrErrors++
		}
	case "pass", "fail", "skip":
		if t == nil {
			t = in.lateTest(p, ev)
		}
		in.finishTest(p, t, testStatus(ev.Action), ev)
	case "bench":
		// A benchmark that logged: its results arrive as package output.
		delete(p.tests, ev.Test)
	default:
		// pause, cont, and actions added after this was written.
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

// lateTest starts a test seen without its run event (a stream that began
// mid-test, or a cut-and-joined file).
func (in *Ingester) lateTest(p *pkgState, ev *Event) *testState {
	p.attempts[ev.Test]++
	t := &testState{Test: result.Test{Package: ev.Package, Name: ev.Test, Attempt: p.attempts[ev.Test]}}
	if ev.Time != nil {
		t.Started = *ev.Time
	}
	p.tests[ev.Test] = t
	return t
}

func (in *Ingester) pkg(ev *Event) *pkgState {
	p := in.pkgs[ev.Package]
	if p == nil {
		p = &pkgState{Package: Package{Name: ev.Package}, tests: map[string]*testState{}, attempts: map[string]int{}}
		if ev.Time != nil {
			p.Started = *ev.Time
		}
		in.pkgs[ev.Package] = p
		in.Stats.Packages++
		in.sink.BeginPackage(ev.Package, p.Started)
	}
	return p
}

func (in *Ingester) finishTest(p *pkgState, t *testState, st result.Status, ev *Event) {
	delete(p.tests, t.Name)
	t.Status = st
	if ev != nil && ev.Time != nil {
		t.Finished = *ev.Time
	} else {
		t.Finished = p.lastTime
	}
	if ev != nil && ev.Elapsed != nil {
		t.Duration = time.Duration(*ev.Elapsed * float64(time.Second))
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
	in.emit(p, &t.Test)
}

// maxHeld bounds the finished tests held per package. They are held because
// go test marks a cached package only after replaying all its tests; past
// this bound tests go out as they end, without the cached flag.
const maxHeld = 10000

func (in *Ingester) emit(p *pkgState, t *result.Test) {
	in.Stats.Tests++
	if !p.streaming && len(p.done) < maxHeld {
		p.done = append(p.done, t)
		return
	}
	if !p.streaming {
		p.streaming = true
		in.release(p)
	}
	in.sink.Test(t)
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
		for name := range p.tests {
			if name == b.Name || strings.HasPrefix(b.Name, name+"/") {
				delete(p.tests, name)
			}
		}
		b.Attempt = p.nextBenchAttempt(b.Name)
		in.emit(p, b)
	}
	for _, t := range sortedTests(p.tests) {
		if strings.HasPrefix(t.Name, "Benchmark") && status == PackagePassed {
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
	in.release(p)
	in.sink.EndPackage(&p.Package)
}

// nextBenchAttempt numbers benchmark samples. They have their own counter:
// a benchmark's run event is not one per sample.
func (p *pkgState) nextBenchAttempt(name string) int {
	k := "\x00bench\x00" + name
	p.attempts[k]++
	return p.attempts[k]
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
