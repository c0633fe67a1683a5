// Package model holds evalrec's own types for what it records: an
// evaluation run (one go test invocation), a test run (one execution of one
// test), their metrics and their IDs. It knows no store: every store keeps
// these values, with the field names their JSON tags give (the seed's
// names), and only store/mongo speaks BSON.
package model
