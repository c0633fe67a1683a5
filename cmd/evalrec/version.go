package main

import (
	"context"
	"flag"
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/peterbourgon/ff/v3/ffcli"

	"evalrec.dev/internal/config"
	"evalrec.dev/internal/logline"
	"evalrec.dev/internal/redact"
	"evalrec.dev/internal/storeloc"
)

type versionCmd struct {
	env  *environment
	fs   *flag.FlagSet
	json bool
}

func newVersionCmd(env *environment) *versionCmd {
	c := &versionCmd{env: env, fs: flag.NewFlagSet("version", flag.ContinueOnError)}
	c.fs.BoolVar(&c.json, "json", false, "print JSON")
	return c
}

func (c *versionCmd) command() *ffcli.Command {
	return &ffcli.Command{
		Name: "version", ShortUsage: "evalrec version [-json]",
		ShortHelp: "Print evalrec's version, commit and Go version, and the store in use.",
		FlagSet:   c.fs, Exec: c.Run,
	}
}

// versionInfo is what evalrec version prints.
type versionInfo struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	Modified  bool   `json:"modified"`
	GoVersion string `json:"go_version"`
	Platform  string `json:"platform"`
	Store     string `json:"store"`
}

// Run prints the version. It names the store without opening it: version
// works with the store down, and creates nothing.
func (c *versionCmd) Run(context.Context, []string) error {
	v := versionInfo{Version: "(unknown)", Commit: "(unknown)", GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" {
			v.Version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				v.Commit = s.Value
			case "vcs.modified":
				v.Modified = s.Value == "true"
			}
		}
	}
	if cfg, err := config.Load(""); err != nil {
		v.Store = "(configuration error: " + err.Error() + ")"
	} else if cfg.URISet {
		v.Store = redact.URI(cfg.URI) + " (database " + cfg.Database + ")"
	} else {
		v.Store = "embedded " + logline.RelPath(storeloc.EmbeddedFile(cfg))
	}
	if c.json {
		return printJSON(c.env.stdout, v)
	}
	commit := v.Commit
	if v.Modified {
		commit += " (modified)"
	}
	fmt.Fprintf(c.env.stdout, "evalrec %s\ncommit  %s\ngo      %s %s\nstore   %s\n", v.Version, commit, v.GoVersion, v.Platform, v.Store)
	return nil
}
