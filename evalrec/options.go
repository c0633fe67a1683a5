package evalrec

import (
	"maps"
	"sync"

	"evalrec.dev/internal/metricfile"
	"evalrec.dev/provenance"
	"evalrec.dev/scoring"
)

// Metrics maps metric names to measured values.
type Metrics map[string]float64

// An Option adjusts one Record call.
type Option func(*recordOptions)

type recordOptions struct {
	testID, testName   string
	tags, participants []string
	method             string
	defs               map[string]scoring.Definition
}

// TestID sets the test's stable identity, such as a scenario's ID. Without
// it, the ID is the package path and test name.
func TestID(id string) Option { return func(o *recordOptions) { o.testID = id } }

// TestName sets the human-readable name, such as a scenario's description.
func TestName(name string) Option { return func(o *recordOptions) { o.testName = name } }

// Tags adds tags to the test.
func Tags(tags ...string) Option { return func(o *recordOptions) { o.tags = append(o.tags, tags...) } }

// Participants adds participant names to the test.
func Participants(names ...string) Option {
	return func(o *recordOptions) { o.participants = append(o.participants, names...) }
}

// ScoreMethod names the calculator that scores the test (see package
// scoring); the default is set by [DefaultScoreMethod], else "average".
func ScoreMethod(name string) Option { return func(o *recordOptions) { o.method = name } }

// Define gives metric definitions for this call, overriding those set with
// [MetricDefinitions].
func Define(defs ...scoring.Definition) Option {
	return func(o *recordOptions) {
		if o.defs == nil {
			o.defs = map[string]scoring.Definition{}
		}
		for _, d := range defs {
			o.defs[d.Name] = d
		}
	}
}

// Process-wide defaults. They are process-wide rather than tied to Main so
// that Record behaves the same whether the recorder stores results itself or
// a wrapper does.
var defaults = struct {
	sync.RWMutex
	defs   map[string]scoring.Definition
	method string
	sut    map[string]any
	// methodSet says DefaultScoreMethod chose method (else evalrec.yaml
	// may).
	methodSet bool
}{defs: map[string]scoring.Definition{}, method: scoring.Average}

// moduleFile is the module's evalrec.yaml, read once, when a metric first
// needs a definition the code does not give.
var moduleFile = sync.OnceValues(func() (*metricfile.File, error) {
	root, _ := provenance.ModuleRoot(".")
	if root == "" {
		return &metricfile.File{}, nil
	}
	return metricfile.Load(root)
})

// A MainOption configures the suite in [Main] or [Start].
type MainOption func()

// MetricDefinitions sets how the suite's metrics are read: direction, range,
// threshold and unit. A metric without a definition is a higher-is-better
// fraction in [0, 1].
func MetricDefinitions(defs ...scoring.Definition) MainOption {
	return func() {
		defaults.Lock()
		defer defaults.Unlock()
		for _, d := range defs {
			defaults.defs[d.Name] = d
		}
	}
}

// DefaultScoreMethod sets the calculator used when Record is not given
// [ScoreMethod].
func DefaultScoreMethod(name string) MainOption {
	return func() {
		defaults.Lock()
		defer defaults.Unlock()
		defaults.method, defaults.methodSet = name, true
	}
}

// SystemUnderTest declares the configuration being evaluated (model names,
// engine versions, settings). It is stored in the run's system information and
// enters its system_info_hash, so runs of different configurations are never
// compared as equals. Values under secret-looking keys are masked.
func SystemUnderTest(config map[string]any) MainOption {
	return func() {
		defaults.Lock()
		defer defaults.Unlock()
		defaults.sut = maps.Clone(config)
	}
}

// definition returns the metric's definition, and whether the suite gave
// one: in the Record call, in [MetricDefinitions], or in the module's
// evalrec.yaml, in that order.
func definition(o *recordOptions, name string) (scoring.Definition, bool) {
	if d, ok := o.defs[name]; ok {
		return d, true
	}
	defaults.RLock()
	d, ok := defaults.defs[name]
	defaults.RUnlock()
	if !ok {
		f, _ := moduleFile()
		d, ok = f.Lookup(name)
	}
	d.Name = name
	return d, ok
}

func defaultMethod() string {
	defaults.RLock()
	defer defaults.RUnlock()
	if !defaults.methodSet {
		if f, _ := moduleFile(); f.ScoreMethod != "" {
			return f.ScoreMethod
		}
	}
	return defaults.method
}
