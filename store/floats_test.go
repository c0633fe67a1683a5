package store

import (
	"math"
	"slices"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
)

func TestFloatsRoundTripAsOneBinaryValue(t *testing.T) {
	in := Values{
		MetricValues: map[string]Floats{"wer": {0.12, 0, -1.5, math.MaxFloat64, math.SmallestNonzeroFloat64}},
		Scores:       Floats{88, 100},
	}
	b, err := bson.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	raw := bson.Raw(b)
	if typ := raw.Lookup("scores").Type; typ != bson.TypeBinary {
		t.Errorf("scores stored as %s, want binary", typ)
	}
	if _, err := raw.LookupErr("status_scores"); err == nil {
		t.Errorf("the old fields are left out when empty")
	}
	var out Values
	if err := bson.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(out.MetricValues["wer"], in.MetricValues["wer"]) || !slices.Equal(out.Scores, in.Scores) || len(out.StatusScores) != 0 {
		t.Errorf("round trip: got %+v, want %+v", out, in)
	}
}

func TestFloatsReadArraysAndNull(t *testing.T) {
	b, err := bson.Marshal(bson.D{
		{Key: "metric_values", Value: bson.D{{Key: "wer", Value: bson.A{0.5, 0.25}}}},
		{Key: "metric_scores", Value: nil},
		{Key: "status_scores", Value: bson.A{100.0, 0.0}},
	})
	if err != nil {
		t.Fatal(err)
	}
	var out Values
	if err := bson.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(out.MetricValues["wer"], Floats{0.5, 0.25}) || out.MetricScores != nil || !slices.Equal(out.StatusScores, Floats{100, 0}) {
		t.Errorf("got %+v", out)
	}
}

func TestFloatsRejectsATruncatedBinary(t *testing.T) {
	b, err := bson.Marshal(bson.D{{Key: "metric_scores", Value: bson.Binary{Data: []byte{1, 2, 3}}}})
	if err != nil {
		t.Fatal(err)
	}
	var out Values
	if err := bson.Unmarshal(b, &out); err == nil {
		t.Errorf("a 3-byte binary decoded without error: %+v", out)
	}
}
