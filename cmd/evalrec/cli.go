package main

import (
	"fmt"
	"io"

	"github.com/peterbourgon/ff/v3/ffcli"

	"evalrec.dev/internal/clihint"
)

// isHelp reports whether arg asks for help.
func isHelp(arg string) bool { return arg == "-h" || arg == "-help" || arg == "--help" }

// subcommand returns root's command named name, or nil.
func subcommand(root *ffcli.Command, name string) *ffcli.Command {
	for _, c := range root.Subcommands {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// usage is a command's help text: its own UsageFunc when it has one (test
// says where go test's flags are documented), else ffcli's.
func usage(c *ffcli.Command) string {
	if c.UsageFunc != nil {
		return c.UsageFunc(c)
	}
	return ffcli.DefaultUsageFunc(c)
}

func unknownCommand(w io.Writer, root *ffcli.Command, name string) int {
	names := make([]string, len(root.Subcommands))
	for i, c := range root.Subcommands {
		names[i] = c.Name
	}
	fmt.Fprintf(w, "evalrec: unknown command %q%s (evalrec -h lists the commands)\n", name, clihint.DidYouMean(name, names, ""))
	return 2
}
