// Command genstream writes a synthetic go test -json stream of about -size
// bytes: packages of mostly passing tests, with the output, attributes and
// timing a real stream has. It is the input for the parsing and memory
// benchmarks in bench/run.sh.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"time"
)

func main() {
	size := flag.Int64("size", 100<<20, "approximate stream size in bytes")
	perPkg := flag.Int("tests", 2000, "tests per package")
	packages := flag.Int("packages", 0, "stop after this many packages (0: at -size)")
	start := flag.String("start", "2026-01-01T00:00:00Z", "the stream's first time (a stream is a run: ingesting another start stores another run)")
	flag.Parse()
	w := bufio.NewWriterSize(os.Stdout, 1<<20)
	defer w.Flush()

	var written int64
	emit := func(format string, args ...any) {
		n, _ := fmt.Fprintf(w, format, args...)
		written += int64(n)
	}
	t0, err := time.Parse(time.RFC3339, *start)
	if err != nil {
		fmt.Fprintln(os.Stderr, "genstream: -start:", err)
		os.Exit(2)
	}
	ts := func(i int) string { return t0.Add(time.Duration(i) * time.Microsecond).Format(time.RFC3339Nano) }
	clock := 0
	for p := 0; written < *size && (*packages == 0 || p < *packages); p++ {
		pkg := fmt.Sprintf("example.com/big/pkg%04d", p)
		emit(`{"Time":%q,"Action":"start","Package":%q}`+"\n", ts(clock), pkg)
		for i := 0; i < *perPkg && written < *size; i++ {
			clock += 3
			test := fmt.Sprintf("TestCase%05d", i)
			emit(`{"Time":%q,"Action":"run","Package":%q,"Test":%q}`+"\n", ts(clock), pkg, test)
			emit(`{"Time":%q,"Action":"output","Package":%q,"Test":%q,"Output":"=== RUN   %s\n"}`+"\n", ts(clock), pkg, test, test)
			emit(`{"Time":%q,"Action":"output","Package":%q,"Test":%q,"Output":"    case_test.go:42: checked %d inputs against the reference\n"}`+"\n", ts(clock), pkg, test, i)
			if i%10 == 0 {
				emit(`{"Time":%q,"Action":"attr","Package":%q,"Test":%q,"Key":"evalrec.metric.wer","Value":"{\"value\":0.%02d,\"direction\":\"lower\",\"score\":%d}"}`+"\n", ts(clock), pkg, test, i%100, 100-i%100)
				emit(`{"Time":%q,"Action":"attr","Package":%q,"Test":%q,"Key":"evalrec.score","Value":"%d"}`+"\n", ts(clock), pkg, test, 100-i%100)
			}
			action, word := "pass", "PASS"
			if i%50 == 7 {
				action, word = "fail", "FAIL"
				emit(`{"Time":%q,"Action":"output","Package":%q,"Test":%q,"Output":"    case_test.go:57: got 3, want 4\n"}`+"\n", ts(clock), pkg, test)
			}
			emit(`{"Time":%q,"Action":"output","Package":%q,"Test":%q,"Output":"--- %s: %s (0.00s)\n"}`+"\n", ts(clock), pkg, test, word, test)
			emit(`{"Time":%q,"Action":%q,"Package":%q,"Test":%q,"Elapsed":0.001}`+"\n", ts(clock), action, pkg, test)
		}
		emit(`{"Time":%q,"Action":"output","Package":%q,"Output":"FAIL\n"}`+"\n", ts(clock), pkg)
		emit(`{"Time":%q,"Action":"fail","Package":%q,"Elapsed":1.5}`+"\n", ts(clock), pkg)
	}
}
