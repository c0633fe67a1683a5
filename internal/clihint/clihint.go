// Package clihint gives the commands' one-line answers to a mistyped
// command or flag, with the closest name, so that evalrec and gojson2mongo
// answer alike.
package clihint

import (
	"flag"
	"fmt"
	"strings"
)

// FlagMistake turns the flag package's parse error into one line, with the
// closest flag when a flag is unknown.
func FlagMistake(err error, fs *flag.FlagSet) string {
	msg := strings.TrimPrefix(err.Error(), "error parsing commandline arguments: ")
	name, ok := strings.CutPrefix(msg, "flag provided but not defined: -")
	if !ok {
		return msg
	}
	var names []string
	fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
	return fmt.Sprintf("unknown flag -%s%s (-h lists the flags)", name, DidYouMean(name, names, "-"))
}

// DidYouMean returns "; did you mean X?" for the candidate closest to
// name, when one is close enough to be a likely typo, else "".
func DidYouMean(name string, candidates []string, prefix string) string {
	best, bestD := "", 1<<30
	for _, c := range candidates {
		if d := editDistance(name, c); d < bestD {
			best, bestD = c, d
		}
	}
	if best == "" || bestD > max(2, len(name)/3) && !strings.HasPrefix(best, name) {
		return ""
	}
	return fmt.Sprintf("; did you mean %s%s?", prefix, best)
}

// editDistance is the optimal-string-alignment distance between a and b:
// insertions, deletions, substitutions and swaps of neighbours each cost
// one, so "rnus" is one step from "runs".
func editDistance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}
