//go:build race

package testmod

// Race says this binary was built with the race detector: the commands
// it builds and the tests it runs are built with it too, so that they
// share the packages go test -race compiled, and the race detector
// watches the converter and the wrapper as they run.
const Race = true
