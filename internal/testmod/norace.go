//go:build !race

package testmod

// Race says this binary was built with the race detector (see race.go).
const Race = false
