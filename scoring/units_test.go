package scoring

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestDirectionOfUnit(t *testing.T) {
	for unit, want := range map[string]Direction{
		"records/sec": HigherIsBetter, "ops/s": HigherIsBetter, "MB/s": HigherIsBetter, "B/s": HigherIsBetter,
		"requests_per_second": HigherIsBetter, "tokens/s": HigherIsBetter, "qps": HigherIsBetter,
		"sec/op": LowerIsBetter, "ns/op": LowerIsBetter, "B/op": LowerIsBetter, "allocs/op": LowerIsBetter,
		"widgets/op": LowerIsBetter, "ms": LowerIsBetter, "seconds": LowerIsBetter, "bytes": LowerIsBetter,
	} {
		d, ok := DirectionOfUnit(unit)
		assert.True(t, ok, unit)
		assert.Equal(t, want, d, unit)
	}
	for _, unit := range []string{"", "ratio", "count", "score", "%"} {
		_, ok := DirectionOfUnit(unit)
		assert.False(t, ok, unit)
	}
}
