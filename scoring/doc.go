// Package scoring turns metric values into 0–100 scores.
//
// A [Definition] says how to read one metric: its direction (lower or higher
// is better), the range that maps onto 0–100, and an optional threshold that
// decides whether the metric passed. A [Calculator] combines the per-metric
// scores of one test into the test's score. Calculators are chosen by name from
// a [Registry]; [Default] holds the built-in ones and any the suite registers.
//
// Formulas (v is the value, [lo, hi] the range, both inclusive):
//
//	higher is better:  score = 100 · (v − lo) / (hi − lo)
//	lower is better:   score = 100 · (hi − v) / (hi − lo)
//
// then clamped to [0, 100]. A metric with no definition is read as a
// higher-is-better fraction in [0, 1]. A non-finite value (NaN, ±Inf) scores 0
// and never passes: it means the measurement broke, not that it was perfect.
//
// Built-in calculators, over the metric results sorted by name:
//
//	average    arithmetic mean of the metric scores
//	weighted   Σ wᵢ·sᵢ / Σ wᵢ, with weight 1 where none is set
//	min        the lowest metric score
//	pass_rate  100 · (metrics that passed) / (metrics with a threshold)
//
// Every calculator returns a score in [0, 100] and the same score for the same
// input, whatever the order of the metrics.
package scoring
