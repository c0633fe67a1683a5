package main

import (
	"context"
	"flag"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/peterbourgon/ff/v3/ffcli"

	"evalrec.dev/analytics"
)

type configsCmd struct {
	env *environment
	fs  *flag.FlagSet
	q   queryFlags
}

func newConfigsCmd(env *environment) *configsCmd {
	c := &configsCmd{env: env, fs: flag.NewFlagSet("configs", flag.ContinueOnError)}
	c.q.register(c.fs, 1000)
	return c
}

func (c *configsCmd) command() *ffcli.Command {
	return &ffcli.Command{
		Name: "configs", ShortUsage: "evalrec configs [-since d] [-tag t] [-env e] [-branch b] [-json]",
		ShortHelp: "Compare configurations: runs grouped by system_info_hash with their metrics.", FlagSet: c.fs, Exec: c.Run,
	}
}

// Run prints the configuration groups, most recently seen first.
func (c *configsCmd) Run(ctx context.Context, _ []string) error {
	f, err := c.q.runFilter()
	if err != nil {
		return err
	}
	conn, err := openStore(ctx, c.env)
	if err != nil {
		return err
	}
	defer conn.Close()
	runs, err := conn.DB.Runs(ctx, f)
	if err != nil {
		return err
	}
	groups := analytics.Configs(runs)
	if c.q.json {
		return printJSON(c.env.stdout, map[string]any{"configs": groups})
	}
	metrics := map[string]bool{}
	for _, g := range groups {
		for k := range g.Metrics {
			metrics[k] = true
		}
	}
	keys := slices.Sorted(maps.Keys(metrics))
	w := table(c.env.stdout)
	fmt.Fprint(w, "CONFIG\tRUNS\tLAST SEEN\tSCORE")
	for _, k := range keys {
		fmt.Fprintf(w, "\t%s", k)
	}
	fmt.Fprintln(w, "\tSYSTEM UNDER TEST")
	for _, g := range groups {
		fmt.Fprintf(w, "%s\t%d\t%s\t%s", short(g.SystemInfoHash, 12), g.Runs, fmtTime(g.LastSeen), fmtScore(g.MeanScore))
		for _, k := range keys {
			if v, ok := g.Metrics[k]; ok {
				fmt.Fprintf(w, "\t%.4g", v)
			} else {
				fmt.Fprint(w, "\t")
			}
		}
		fmt.Fprintf(w, "\t%s\n", describeSystem(g.SystemUnderTest))
	}
	return w.Flush()
}

func describeSystem(m map[string]any) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%v", k, m[k])
	}
	return strings.Join(parts, " ")
}
