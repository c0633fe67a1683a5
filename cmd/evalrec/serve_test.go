//go:build ferretdb

package main

import (
	"math"
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestTuneGCLeavesWhatTheUserSet(t *testing.T) {
	percent := debug.SetGCPercent(100)
	limit := debug.SetMemoryLimit(math.MaxInt64)
	t.Cleanup(func() {
		debug.SetGCPercent(percent)
		debug.SetMemoryLimit(limit)
	})
	current := func() (int, int64) {
		p := debug.SetGCPercent(-1)
		debug.SetGCPercent(p)
		return p, debug.SetMemoryLimit(-1) // a negative limit only reads it
	}

	tuneGC(func(string) string { return "" })
	p, l := current()
	assert.Equal(t, serveGCPercent, p)
	assert.Equal(t, int64(serveMemoryLimit), l)

	debug.SetGCPercent(100)
	debug.SetMemoryLimit(math.MaxInt64)
	tuneGC(func(k string) string { return map[string]string{"GOGC": "50", "GOMEMLIMIT": "2GiB"}[k] })
	p, l = current()
	assert.Equal(t, 100, p, "GOGC set by the user: left alone")
	assert.Equal(t, int64(math.MaxInt64), l, "GOMEMLIMIT set by the user: left alone")
}
