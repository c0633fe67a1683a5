package main

import (
	"context"
	"flag"
	"fmt"
	"strings"

	"github.com/peterbourgon/ff/v3/ffcli"

	"evalrec.dev/internal/clihint"
)

type completionCmd struct {
	env  *environment
	fs   *flag.FlagSet
	root *ffcli.Command
}

func newCompletionCmd(env *environment, root *ffcli.Command) *completionCmd {
	return &completionCmd{env: env, fs: flag.NewFlagSet("completion", flag.ContinueOnError), root: root}
}

func (c *completionCmd) command() *ffcli.Command {
	return &ffcli.Command{
		Name: "completion", ShortUsage: "evalrec completion bash|zsh|fish",
		ShortHelp: "Print a shell completion script for evalrec's commands and flags.",
		LongHelp: `Load it in the shell's start-up file:

  bash:  source <(evalrec completion bash)          (in ~/.bashrc)
  zsh:   source <(evalrec completion zsh)           (in ~/.zshrc)
  fish:  evalrec completion fish | source           (in ~/.config/fish/config.fish)

After evalrec test, the flags of go test complete too.`,
		FlagSet: c.fs, Exec: c.Run,
	}
}

// Run prints the script for the shell named.
func (c *completionCmd) Run(_ context.Context, args []string) error {
	if len(args) != 1 {
		return flag.ErrHelp
	}
	switch args[0] {
	case "bash":
		fmt.Fprint(c.env.stdout, c.bash())
	case "zsh":
		// zsh runs bash completion functions through bashcompinit.
		fmt.Fprint(c.env.stdout, "autoload -U +X compinit && compinit\nautoload -U +X bashcompinit && bashcompinit\n"+c.bash())
	case "fish":
		fmt.Fprint(c.env.stdout, c.fish())
	default:
		return fmt.Errorf("completion: unknown shell %q%s (bash, zsh or fish)", args[0], clihint.DidYouMean(args[0], []string{"bash", "zsh", "fish"}, ""))
	}
	return nil
}

// commandFlags lists each command's flags, with "-" in front; evalrec
// test also offers go test's common flags.
func (c *completionCmd) commandFlags(cmd *ffcli.Command) []string {
	var flags []string
	cmd.FlagSet.VisitAll(func(f *flag.Flag) { flags = append(flags, "-"+f.Name) })
	if cmd.Name == "test" {
		flags = append(flags, "-v", "-run", "-skip", "-count", "-timeout", "-race", "-short", "-tags", "-cover", "-bench", "-failfast", "-shuffle")
	}
	return flags
}

func (c *completionCmd) bash() string {
	var cases, names strings.Builder
	for _, cmd := range c.root.Subcommands {
		names.WriteString(cmd.Name + " ")
		fmt.Fprintf(&cases, "    %s) opts=%q ;;\n", cmd.Name, strings.Join(c.commandFlags(cmd), " "))
	}
	return `# evalrec completion for bash: source <(evalrec completion bash)
_evalrec() {
  local cur=${COMP_WORDS[COMP_CWORD]} opts=""
  if [[ $COMP_CWORD -eq 1 ]]; then
    COMPREPLY=($(compgen -W "` + strings.TrimSpace(names.String()) + ` help" -- "$cur"))
    return
  fi
  case ${COMP_WORDS[1]} in
` + cases.String() + `    help) COMPREPLY=($(compgen -W "` + strings.TrimSpace(names.String()) + `" -- "$cur")); return ;;
    completion) COMPREPLY=($(compgen -W "bash zsh fish" -- "$cur")); return ;;
  esac
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$opts" -- "$cur"))
  fi
}
complete -o default -F _evalrec evalrec
`
}

func (c *completionCmd) fish() string {
	var b strings.Builder
	b.WriteString("# evalrec completion for fish: evalrec completion fish | source\ncomplete -c evalrec -f\n")
	for _, cmd := range c.root.Subcommands {
		fmt.Fprintf(&b, "complete -c evalrec -n __fish_use_subcommand -a %s -d %s\n", cmd.Name, fishQuote(cmd.ShortHelp))
		cmd.FlagSet.VisitAll(func(f *flag.Flag) {
			fmt.Fprintf(&b, "complete -c evalrec -n '__fish_seen_subcommand_from %s' -o %s -d %s\n", cmd.Name, f.Name, fishQuote(firstSentence(f.Usage)))
		})
	}
	b.WriteString("complete -c evalrec -n '__fish_seen_subcommand_from completion' -a 'bash zsh fish'\n")
	b.WriteString("complete -c evalrec -n '__fish_seen_subcommand_from test' -F\n")
	return b.String()
}

func fishQuote(s string) string {
	return "'" + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), "'", `\'`) + "'"
}

func firstSentence(s string) string {
	s, _, _ = strings.Cut(s, "; ")
	s, _, _ = strings.Cut(s, " (")
	return s
}
