package analytics

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"evalrec.dev/samples"
	"github.com/stretchr/testify/assert"
)

// flakyHistory generates 30 runs of 300 tests at runsPerCommit runs a
// commit: 12 flaky tests failing at 2–30%, 4 tests that broke at some run
// and stayed broken, and, in one run, 5 otherwise passing tests failing
// together (a blip). It returns the history and the tests of each kind.
func flakyHistory(seed uint64, runsPerCommit int) (h *history, flaky, broken, blip []string) {
	rng := rand.New(rand.NewPCG(seed, 1))
	h = &history{}
	const runs, tests = 30, 300
	rates := map[string]float64{}
	brokeAt := map[string]int{}
	for i := range 12 {
		id := fmt.Sprintf("flaky-%02d", i)
		rates[id] = 0.02 + 0.28*float64(i)/11
		flaky = append(flaky, id)
	}
	for i := range 4 {
		id := fmt.Sprintf("broken-%d", i)
		brokeAt[id] = 10 + 4*i
		broken = append(broken, id)
	}
	for i := range 5 {
		blip = append(blip, fmt.Sprintf("stable-%03d", 100+i))
	}
	blipRun := 17
	for r := range runs {
		st := map[string]byte{}
		failed := 0
		for i := range tests - 16 {
			id := fmt.Sprintf("stable-%03d", i)
			st[id] = 'P'
			if r == blipRun && slices.Contains(blip, id) {
				st[id] = 'F'
				failed++
			}
		}
		for _, id := range flaky { // in order: the draws are the same every time
			st[id] = 'P'
			if rng.Float64() < rates[id] {
				st[id] = 'F'
				failed++
			}
		}
		for _, id := range broken {
			st[id] = 'P'
			if r >= brokeAt[id] {
				st[id] = 'F'
				failed++
			}
		}
		h.run("dev", "h1", fmt.Sprint("c", r/runsPerCommit), st, tests, failed)
	}
	return h, flaky, broken, blip
}

// TestABlipIsNotFlakiness: the blip's five tests are named in a blip, and
// none of them flaky, at one and at three runs a commit; the broken tests
// are broken, and no stable test is named.
func TestABlipIsNotFlakiness(t *testing.T) {
	for _, perCommit := range []int{1, 3} {
		t.Run(fmt.Sprint(perCommit, " runs a commit"), func(t *testing.T) {
			h, flaky, broken, blip := flakyHistory(7, perCommit)
			health, blips, err := Health(h.runs, samples.StreamOf(h.tests), FlakyOptions{})
			if err != nil {
				t.Fatal(err)
			}
			verdicts := map[string]string{}
			for _, x := range health {
				verdicts[x.TestID] = x.Verdict
			}
			for _, id := range blip {
				assert.Empty(t, verdicts[id], "%s failed only in the blip", id)
			}
			for _, id := range broken {
				assert.Equal(t, Broken, verdicts[id], id)
			}
			named := 0
			for _, id := range flaky {
				if verdicts[id] == Flaky {
					named++
				}
			}
			stable := 0
			for id := range verdicts {
				if !slices.Contains(flaky, id) && !slices.Contains(broken, id) {
					stable++
				}
			}
			assert.Zero(t, stable, "stable tests named: %v", verdicts)
			// A flaky test whose one failure in the window fell in the blip
			// run cannot be told from the blip's tests, and may join them.
			if assert.Len(t, blips, 1) {
				assert.Subset(t, blips[0].Tests, blip)
				for _, id := range blips[0].Tests {
					assert.True(t, slices.Contains(blip, id) || slices.Contains(flaky, id), "%s is in the blip", id)
				}
			}
			t.Logf("%d runs a commit: %d of 12 flaky tests named, %d of 4 broken, blips %d", perCommit, named, len(broken), len(blips))
		})
	}
}
