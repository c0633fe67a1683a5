package jsonout

import (
	"math"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
)

type inner struct {
	Stored string `bson:"stored_name"`
}

type sample struct {
	BaseRuns  int
	TestID    string
	HTTPCode  int
	Tagged    string `json:"tagged_name"`
	Omitted   string `json:"omitted,omitempty"`
	Hidden    string `json:"-"`
	When      time.Time
	ID        bson.ObjectID
	Nothing   []string
	NoMap     map[string]float64
	Score     *float64
	Ratio     float64
	Doc       bson.D
	Nested    inner
	unexposed int
}

func TestWriteGivesOneShape(t *testing.T) {
	id, _ := bson.ObjectIDFromHex("65f0a1b2c3d4e5f601234567")
	v := sample{
		BaseRuns: 3, TestID: "T", HTTPCode: 200, Tagged: "x", Hidden: "secret",
		When: time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("X", 3600)),
		ID:   id, Ratio: math.NaN(),
		Doc:    bson.D{{Key: "b", Value: bson.DateTime(0)}, {Key: "a", Value: bson.A{1, "x"}}},
		Nested: inner{Stored: "s"},
	}
	got, err := Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"base_runs":3,"test_id":"T","http_code":200,"tagged_name":"x","when":"2026-01-02T02:04:05Z",` +
		`"id":"65f0a1b2c3d4e5f601234567","nothing":[],"no_map":{},"score":null,"ratio":null,` +
		`"doc":{"b":"1970-01-01T00:00:00Z","a":[1,"x"]},"nested":{"stored_name":"s"}}`
	if string(got) != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestSnake(t *testing.T) {
	for in, want := range map[string]string{"BaseRuns": "base_runs", "TestID": "test_id", "HTTPCode": "http_code", "N1": "n1", "P": "p"} {
		if got := snake(in); got != want {
			t.Errorf("snake(%q) = %q, want %q", in, got, want)
		}
	}
}
