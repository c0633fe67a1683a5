// Package metricfile reads evalrec.yaml, the metric definitions a module
// declares without code: unit, direction, range, threshold and weight per
// metric (glob patterns allowed), and the default score method. Every mode
// reads it: the library when Record scores a metric that no
// evalrec.MetricDefinitions covers, and the wrapper and the converter for
// metrics written by hand as bare numbers.
//
//	score_method: weighted
//	compare_durations: true   # judge test durations too (ms, lower is better)
//	metrics:
//	  wer:        {direction: lower, threshold: 0.1, weight: 2}
//	  "latency_*": {unit: ms, min: 0, max: 5000}
package metricfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"evalrec.dev/scoring"
)

// Name is the file's name, at the module root.
const Name = "evalrec.yaml"

// File is a parsed evalrec.yaml. The zero File defines nothing.
type File struct {
	Path        string
	ScoreMethod string
	// CompareDurations asks comparisons and the gate to judge each test's
	// duration too, as a metric "duration" in ms, lower is better.
	CompareDurations bool
	exact            map[string]scoring.Definition
	globs            []glob // longest pattern first: the most specific wins
}

type glob struct {
	pattern string
	def     scoring.Definition
}

type metricYAML struct {
	Unit      string   `yaml:"unit"`
	Direction string   `yaml:"direction"`
	Min       *float64 `yaml:"min"`
	Max       *float64 `yaml:"max"`
	Threshold *float64 `yaml:"threshold"`
	Weight    *float64 `yaml:"weight"`
}

type fileYAML struct {
	ScoreMethod      string                `yaml:"score_method"`
	CompareDurations bool                  `yaml:"compare_durations"`
	Metrics          map[string]metricYAML `yaml:"metrics"`
}

// Load reads evalrec.yaml in dir. A missing file is an empty File and no
// error.
func Load(dir string) (*File, error) {
	p := filepath.Join(dir, Name)
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return &File{}, nil
	}
	if err != nil {
		return &File{}, err
	}
	f, err := Parse(b)
	if err != nil {
		return &File{}, fmt.Errorf("%s: %w", p, err)
	}
	f.Path = p
	return f, nil
}

// Parse reads the file's contents. Unknown keys are errors, so that a
// misspelt "treshold" does not silently define nothing. The score method
// is not checked here: a suite may register its own calculator.
//
// The file is read as a node tree and walked here, not decoded into a map:
// yaml's decoder checks a mapping's keys for duplicates pair by pair, which
// took 586 s on a file of 150,000 definitions. This walk is linear.
func Parse(b []byte) (*File, error) {
	var doc yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(b)).Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return nil, oneLine(err)
	}
	y, err := fromNode(&doc)
	if err != nil {
		return nil, err
	}
	f := &File{ScoreMethod: y.ScoreMethod, CompareDurations: y.CompareDurations, exact: map[string]scoring.Definition{}}
	for name, m := range y.Metrics {
		d := scoring.Definition{Name: name, Unit: m.Unit, Threshold: m.Threshold}
		dir, err := scoring.ParseDirection(m.Direction)
		if err != nil {
			return nil, fmt.Errorf("metric %q: %w", name, err)
		}
		d.Direction = dir
		if m.Direction == "" {
			// Left out: the unit decides (ms is lower-is-better), as for a
			// definition in code.
			if du, ok := scoring.DirectionOfUnit(m.Unit); ok {
				d.Direction = du
			}
		}
		if m.Min != nil {
			d.Min = *m.Min
		}
		if m.Max != nil {
			d.Max = *m.Max
		}
		if (m.Min != nil || m.Max != nil) && d.Max <= d.Min {
			return nil, fmt.Errorf("metric %q: max %g is not above min %g", name, d.Max, d.Min)
		}
		if m.Weight != nil {
			if *m.Weight < 0 {
				return nil, fmt.Errorf("metric %q: weight %g is negative", name, *m.Weight)
			}
			d.Weight = *m.Weight
		}
		if strings.ContainsAny(name, "*?[") {
			if _, err := path.Match(name, ""); err != nil {
				return nil, fmt.Errorf("metric pattern %q: %w", name, err)
			}
			f.globs = append(f.globs, glob{name, d})
			continue
		}
		f.exact[name] = d
	}
	slices.SortFunc(f.globs, func(a, b glob) int {
		if c := len(b.pattern) - len(a.pattern); c != 0 {
			return c
		}
		return strings.Compare(a.pattern, b.pattern)
	})
	return f, nil
}

// metricKeys are the keys a metric's definition may have.
var metricKeys = map[string]bool{"unit": true, "direction": true, "min": true, "max": true, "threshold": true, "weight": true}

// fromNode reads the document's tree: score_method, and metrics, each
// checked for unknown and repeated keys.
func fromNode(doc *yaml.Node) (fileYAML, error) {
	var y fileYAML
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return y, nil // an empty file
	}
	top := doc.Content[0]
	if top.Kind == yaml.ScalarNode && top.Tag == "!!null" {
		return y, nil
	}
	if top.Kind != yaml.MappingNode {
		return y, fmt.Errorf("line %d: want a mapping with score_method and metrics", top.Line)
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(top.Content); i += 2 {
		k, v := top.Content[i], top.Content[i+1]
		if seen[k.Value] {
			return y, fmt.Errorf("line %d: key %s is given twice", k.Line, k.Value)
		}
		seen[k.Value] = true
		switch k.Value {
		case "score_method":
			if err := v.Decode(&y.ScoreMethod); err != nil {
				return y, oneLine(err)
			}
		case "compare_durations":
			if err := v.Decode(&y.CompareDurations); err != nil {
				return y, oneLine(err)
			}
		case "metrics":
			if v.Kind == yaml.ScalarNode && v.Tag == "!!null" {
				continue
			}
			if v.Kind != yaml.MappingNode {
				return y, fmt.Errorf("line %d: metrics must map metric names to definitions", v.Line)
			}
			y.Metrics = make(map[string]metricYAML, len(v.Content)/2)
			for j := 0; j+1 < len(v.Content); j += 2 {
				name, def := v.Content[j], v.Content[j+1]
				if _, dup := y.Metrics[name.Value]; dup {
					return y, fmt.Errorf("line %d: metric %q is defined twice", name.Line, name.Value)
				}
				var m metricYAML
				if def.Kind == yaml.MappingNode {
					for n := 0; n+1 < len(def.Content); n += 2 {
						if key := def.Content[n]; !metricKeys[key.Value] {
							return y, fmt.Errorf("line %d: unknown key %s", key.Line, key.Value)
						}
					}
				}
				if !(def.Kind == yaml.ScalarNode && def.Tag == "!!null") {
					if err := def.Decode(&m); err != nil {
						return y, oneLine(err)
					}
				}
				y.Metrics[name.Value] = m
			}
		default:
			return y, fmt.Errorf("line %d: unknown key %s", k.Line, k.Value)
		}
	}
	return y, nil
}

// oneLine makes yaml's errors one line: "line 2: unknown key treshold".
func oneLine(err error) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return err
	}
	msgs := make([]string, len(te.Errors))
	for i, m := range te.Errors {
		if before, after, ok := strings.Cut(m, ": field "); ok {
			key, _, _ := strings.Cut(after, " not found")
			m = before + ": unknown key " + key
		}
		msgs[i] = m
	}
	return errors.New(strings.Join(msgs, "; "))
}

// Lookup returns the definition for a metric name: its own entry, else the
// longest pattern that matches it.
func (f *File) Lookup(name string) (scoring.Definition, bool) {
	if f == nil {
		return scoring.Definition{}, false
	}
	if d, ok := f.exact[name]; ok {
		return d, true
	}
	for _, g := range f.globs {
		if ok, _ := path.Match(g.pattern, name); ok {
			d := g.def
			d.Name = name
			return d, true
		}
	}
	return scoring.Definition{}, false
}

// Entry is one declared definition, for listing.
type Entry struct {
	Pattern string
	scoring.Definition
}

// Entries lists the declared definitions: names first, then patterns,
// each sorted.
func (f *File) Entries() []Entry {
	if f == nil {
		return nil
	}
	var out []Entry
	names := make([]string, 0, len(f.exact))
	for n := range f.exact {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		out = append(out, Entry{n, f.exact[n]})
	}
	globs := slices.Clone(f.globs)
	slices.SortFunc(globs, func(a, b glob) int { return strings.Compare(a.pattern, b.pattern) })
	for _, g := range globs {
		out = append(out, Entry{g.pattern, g.def})
	}
	return out
}
