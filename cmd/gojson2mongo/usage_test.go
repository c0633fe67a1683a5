package main

import (
	"bytes"
	"strings"
	"testing"
)

// gojson2mongo answers -h and a mistyped flag as evalrec does: help on
// stdout with exit 0; one line with the closest flag, exit 2.
func TestHelpAndMistypedFlagsAnswerAsEvalrecDoes(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"-h"}, strings.NewReader(""), &out, &errOut); code != 0 || !strings.Contains(out.String(), "usage: gojson2mongo") || !strings.Contains(out.String(), "-dry-run") || errOut.Len() != 0 {
		t.Errorf("-h: exit %d, stdout %q, stderr %q", code, out.String(), errOut.String())
	}
	out.Reset()
	errOut.Reset()
	code := run([]string{"-dryrun"}, strings.NewReader(""), &out, &errOut)
	if code != 2 || out.Len() != 0 || strings.Count(errOut.String(), "\n") != 1 ||
		!strings.Contains(errOut.String(), "gojson2mongo: unknown flag -dryrun; did you mean -dry-run? (-h lists the flags)") {
		t.Errorf("-dryrun: exit %d, stdout %q, stderr %q", code, out.String(), errOut.String())
	}
}
