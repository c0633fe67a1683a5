package jsonout

import (
	"bytes"
	"math"
	"testing"
	"time"
)

// hexID stands for an ID that prints as its text.
type hexID [2]byte

func (id hexID) MarshalText() ([]byte, error) { return []byte("0a0b"), nil }

type inner struct {
	Stored string `json:"stored_name"`
}

type sample struct {
	BaseRuns  int
	TestID    string
	HTTPCode  int
	Tagged    string `json:"tagged_name"`
	Omitted   string `json:"omitted,omitempty"`
	Hidden    string `json:"-"`
	When      time.Time
	ID        hexID
	Nothing   []string
	NoMap     map[string]float64
	Score     *float64
	Ratio     float64
	Doc       Object
	Nested    inner
	unexposed int
}

func TestWriteGivesOneShape(t *testing.T) {
	id := hexID{10, 11}
	v := sample{
		BaseRuns: 3, TestID: "T", HTTPCode: 200, Tagged: "x", Hidden: "secret",
		When: time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("X", 3600)),
		ID:   id, Ratio: math.NaN(),
		Doc:    Object{{Key: "b", Value: time.Unix(0, 0)}, {Key: "a", Value: []any{1, "x"}}},
		Nested: inner{Stored: "s"},
	}
	got, err := Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"base_runs":3,"test_id":"T","http_code":200,"tagged_name":"x","when":"2026-01-02T02:04:05Z",` +
		`"id":"0a0b","nothing":[],"no_map":{},"score":null,"ratio":null,` +
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

// TestAStreamedArrayPrintsAsWriteDoes checks that WriteStreaming prints
// byte for byte what Write prints for the same object, with an array of
// none, one and several elements, nested ones among them.
func TestAStreamedArrayPrintsAsWriteDoes(t *testing.T) {
	type doc struct {
		Name   string
		Values []float64
		Nested map[string]any
	}
	head := Object{{Key: "run", Value: doc{Name: "r", Values: []float64{1, 2}, Nested: map[string]any{"a": []int{1}}}}, {Key: "n", Value: 3}}
	for _, docs := range [][]doc{nil, {{Name: "one"}}, {{Name: "a", Values: []float64{0.5}}, {Name: "b", Nested: map[string]any{"x": map[string]int{"y": 1}}}}} {
		var want, got bytes.Buffer
		list := make([]any, 0, len(docs))
		for _, d := range docs {
			list = append(list, d)
		}
		if err := Write(&want, append(head, Field{Key: "tests", Value: list})); err != nil {
			t.Fatal(err)
		}
		err := WriteStreaming(&got, head, "tests", func(emit func(any) error) error {
			for _, d := range docs {
				if err := emit(d); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if got.String() != want.String() {
			t.Errorf("%d elements:\ngot  %s\nwant %s", len(docs), got.String(), want.String())
		}
	}
}
