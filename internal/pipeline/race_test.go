//go:build race

package pipeline_test

// raceDetector says the tests run under -race, ten times slower.
const raceDetector = true
