// Command benchgate measures how often compare's benchmark verdict (one
// per benchmark and unit, benchmath's Mann–Whitney as benchstat does)
// finds a benchmark slowed on purpose, at -count 10 a side: 0% (false
// alarms), 10% and 30% slower. Each trial runs a real benchmark twice
// through go test -json and the converter's reader.
//
//	go run ./bench/benchgate [-trials 20]
package main

import (
	"bytes"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"evalrec.dev/compare"
	"evalrec.dev/ingest"
	"evalrec.dev/model"
	"evalrec.dev/result"
	"evalrec.dev/store"
)

// The benchmark does a fixed amount of work, times the slowdown factor
// its environment gives.
const benchmark = `package slow

import (
	"hash/crc32"
	"os"
	"strconv"
	"testing"
)

var data = make([]byte, 4096)

func BenchmarkWork(b *testing.B) {
	f, _ := strconv.ParseFloat(os.Getenv("SLOWDOWN"), 64)
	rounds := int(100 * (1 + f))
	for b.Loop() {
		for range rounds {
			crc32.ChecksumIEEE(data)
		}
	}
}
`

func main() {
	trials := flag.Int("trials", 20, "A/B comparisons per slowdown")
	flag.Parse()
	dir, err := os.MkdirTemp("", "benchgate")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	must(os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/slow\n\ngo 1.24\n"), 0o644))
	must(os.WriteFile(filepath.Join(dir, "slow_test.go"), []byte(benchmark), 0o644))
	bin := filepath.Join(dir, "slow.test")
	build := exec.Command("go", "test", "-c", "-o", bin, ".")
	build.Dir, build.Stderr = dir, os.Stderr
	must(build.Run())

	fmt.Println("slowdown\ttrials\tsec/op found slower\tmedian p")
	for _, slowdown := range []float64{0, 0.10, 0.30} {
		found := 0
		var ps []float64
		for range *trials {
			base := side(dir, bin, 0)
			cand := side(dir, bin, slowdown)
			r := compare.Sides(nil, nil, base, cand, compare.Options{})
			for _, f := range r.Findings {
				if f.Metric == "sec/op" || strings.HasPrefix(f.Metric, "sec") {
					if f.P != nil {
						ps = append(ps, *f.P)
					}
					if f.Verdict == compare.Regression {
						found++
					}
				}
			}
		}
		fmt.Printf("%.0f%%\t%d\t%d (%.0f%%)\t%.2g\n", 100*slowdown, *trials, found, 100*float64(found)/float64(*trials), median(ps))
	}
}

// side runs the benchmark 10 times through test2json and reads the
// results as the converter does.
func side(dir, bin string, slowdown float64) []model.TestRun {
	cmd := exec.Command("go", "tool", "test2json", "-p", "example.com/slow", bin,
		"-test.run", "^$", "-test.bench", ".", "-test.count", "10", "-test.benchtime", "20ms")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), fmt.Sprintf("SLOWDOWN=%g", slowdown))
	out, err := cmd.Output()
	must(err)
	var sink collect
	in := ingest.New(&sink)
	rd := ingest.NewReader(bytes.NewReader(out))
	for rd.Scan() {
		if ev := rd.Event(); ev != nil {
			in.Event(ev)
		}
	}
	in.Close()
	rc := store.RunContext{EvaluationRunID: fmt.Sprintf("slow-%g", slowdown)}
	var trs []model.TestRun
	for _, t := range sink.tests {
		t.Complete()
		trs = append(trs, store.NewTestRun(rc, t))
	}
	return trs
}

type collect struct{ tests []*result.Test }

func (c *collect) BeginPackage(*ingest.Package) {}
func (c *collect) Test(t *result.Test)          { c.tests = append(c.tests, t) }
func (c *collect) EndPackage(*ingest.Package)   {}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

func must(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
