package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"maps"
	"slices"

	"github.com/peterbourgon/ff/v3/ffcli"

	"evalrec.dev/internal/metricfile"
	"evalrec.dev/provenance"
	"evalrec.dev/samples"
)

type metricsCmd struct {
	env  *environment
	fs   *flag.FlagSet
	q    queryFlags
	runs int
}

func newMetricsCmd(env *environment) *metricsCmd {
	c := &metricsCmd{env: env, fs: flag.NewFlagSet("metrics", flag.ContinueOnError)}
	c.q.register(c.fs, 0)
	c.fs.IntVar(&c.runs, "runs", 20, "look for metrics in the newest N runs")
	return c
}

func (c *metricsCmd) command() *ffcli.Command {
	return &ffcli.Command{
		Name: "metrics", ShortUsage: "evalrec metrics [-runs 20] [-json]",
		ShortHelp: "List the metric definitions in force (evalrec.yaml), and the metrics stored without one.",
		LongHelp: `Definitions come from evalrec.yaml at the module root (units,
directions, ranges, thresholds, weights, glob patterns; see README) and
from evalrec.MetricDefinitions in a suite's TestMain. A metric that neither
defines is scored as a higher-is-better fraction in [0, 1]: those seen in
the newest runs are listed, so that they can be declared.`,
		FlagSet: c.fs, Exec: c.Run,
	}
}

// metricDef is one definition, as listed.
type metricDef struct {
	Metric    string   `json:"metric"`
	Unit      string   `json:"unit"`
	Direction string   `json:"direction"`
	Min       float64  `json:"min"`
	Max       float64  `json:"max"`
	Threshold *float64 `json:"threshold"`
	Weight    float64  `json:"weight"`
}

// seenMetric is a metric found in stored test runs.
type seenMetric struct {
	Metric string `json:"metric"`
	Tests  int    `json:"tests"`
	// DefinedBy is "evalrec.yaml", "code" (the test binary scored it by a
	// definition), or "" for none.
	DefinedBy string `json:"defined_by"`
}

// Run lists the definitions and the metrics seen.
func (c *metricsCmd) Run(ctx context.Context, _ []string) error {
	root, _ := provenance.ModuleRoot(".")
	file, err := metricfile.Load(root)
	if err != nil {
		return err
	}
	defs := []metricDef{}
	for _, e := range file.Entries() {
		lo, hi := e.Min, e.Max
		if lo == 0 && hi == 0 {
			hi = 1
		}
		w := e.Weight
		if w == 0 {
			w = 1
		}
		defs = append(defs, metricDef{Metric: e.Pattern, Unit: e.Unit, Direction: e.Direction.String(), Min: lo, Max: hi, Threshold: e.Threshold, Weight: w})
	}
	seen, err := c.seen(ctx, file)
	if err != nil {
		return err
	}
	if c.q.json {
		return printJSON(c.env.stdout, map[string]any{"file": file.Path, "score_method": file.ScoreMethod, "definitions": defs, "seen": seen})
	}
	w := c.env.stdout
	switch {
	case file.Path == "":
		fmt.Fprintf(w, "no %s at the module root: no definitions without code\n", metricfile.Name)
	default:
		fmt.Fprintf(w, "definitions in %s", file.Path)
		if file.ScoreMethod != "" {
			fmt.Fprintf(w, " (score method %s)", file.ScoreMethod)
		}
		fmt.Fprintln(w)
		t := table(w)
		fmt.Fprintln(t, "METRIC\tUNIT\tDIRECTION\tRANGE\tTHRESHOLD\tWEIGHT")
		for _, d := range defs {
			th := "–"
			if d.Threshold != nil {
				th = fmt.Sprintf("%g", *d.Threshold)
			}
			fmt.Fprintf(t, "%s\t%s\t%s\t[%g, %g]\t%s\t%g\n", d.Metric, orDash(d.Unit), d.Direction, d.Min, d.Max, th, d.Weight)
		}
		if err := t.Flush(); err != nil {
			return err
		}
	}
	if len(seen) == 0 {
		return nil
	}
	fmt.Fprintf(w, "\nmetrics in the newest %d runs\n", c.runs)
	t := table(w)
	fmt.Fprintln(t, "METRIC\tTESTS\tDEFINED BY")
	undefined := 0
	for _, s := range seen {
		by := s.DefinedBy
		if by == "" {
			by = "nothing: scored as a higher-is-better fraction in [0, 1]"
			undefined++
		}
		fmt.Fprintf(t, "%s\t%d\t%s\n", s.Metric, s.Tests, by)
	}
	if err := t.Flush(); err != nil {
		return err
	}
	if undefined > 0 {
		fmt.Fprintf(w, "\n%d metrics have no definition: declare them in %s (see README, Metric definitions)\n", undefined, metricfile.Name)
	}
	return nil
}

// seen lists the metrics of the newest runs' test runs and what defines
// each.
func (c *metricsCmd) seen(ctx context.Context, file *metricfile.File) ([]seenMetric, error) {
	f, err := c.q.runFilter()
	if err != nil {
		return nil, err
	}
	f.Limit = int64(c.runs)
	conn, err := openStore(ctx, c.env)
	if errors.Is(err, errNothingStored) {
		return []seenMetric{}, nil
	}
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	_, results, err := runsWithResults(ctx, conn.DB, f)
	if err != nil {
		return nil, err
	}
	var uses []int
	var keys []samples.MetricKey
	err = results(func(rs *samples.Results) error {
		keys = rs.Metrics
		if n := len(rs.Metrics) - len(uses); n > 0 {
			uses = append(uses, make([]int, n)...)
		}
		for _, v := range rs.Values {
			uses[v.Metric]++
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	byName := map[string]*seenMetric{}
	for i, m := range keys {
		name := m.Label()
		s := byName[name]
		if s == nil {
			s = &seenMetric{Metric: name}
			byName[name] = s
		}
		s.Tests += uses[i]
		if !m.Assumed && s.DefinedBy == "" {
			s.DefinedBy = "code, or its unit"
		}
		if _, ok := file.Lookup(name); ok {
			s.DefinedBy = metricfile.Name
		}
	}
	out := []seenMetric{}
	for _, name := range slices.Sorted(maps.Keys(byName)) {
		out = append(out, *byName[name])
	}
	return out, nil
}

func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}
