package result

import (
	"encoding/json"
	"math"
	"slices"
	"strings"
	"testing"
	"unicode"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"evalrec.dev/internal/redact"
	"evalrec.dev/scoring"
)

func TestMetricKey(t *testing.T) {
	long := strings.Repeat("x", 200)
	tests := []struct {
		in, want string
		changed  bool
	}{
		{"wer", "wer", false},
		{"latency.p99", "latency%2Ep99", true},
		{"$where", "%24where", true},
		{"a$b", "a$b", false},
		{"two words", "two%20words", true},
		{"tab\there", "tab%09here", true},
		{"", "%empty", true},
		{"bad\xffutf8", "bad%FFutf8", true},
		{"über", "über", false},
		{"100%", "100%25", true},
		{"a_b_c", "a_b_c", false},
		{"a.b.c", "a%2Eb%2Ec", true},
	}
	for _, tt := range tests {
		got, changed := MetricKey(tt.in)
		assert.Equal(t, tt.want, got, "MetricKey(%q)", tt.in)
		assert.Equal(t, tt.changed, changed, "MetricKey(%q) changed", tt.in)
	}

	k1, changed := MetricKey(long)
	assert.True(t, changed)
	assert.Len(t, k1, MaxKeyLen)
	k2, _ := MetricKey(long + "y")
	assert.NotEqual(t, k1, k2, "long names that differ only past the cut must stay distinct")

	// Names that used to collide stay apart.
	seen := map[string]string{}
	for _, name := range []string{"$", ".", "", "_", "a.b.c", "a_b_c", "a b c", "%", "%empty", "%24", "~", "a\x00", "a%00"} {
		k, _ := MetricKey(name)
		assert.NotContains(t, seen, k, "%q and %q", name, seen[k])
		seen[k] = name
		assert.NotContains(t, k, ".")
		assert.False(t, strings.HasPrefix(k, "$"))
		assert.False(t, strings.ContainsFunc(k, unicode.IsSpace))
	}
}

// The attributes of earlier versions, one a metric and one a field, as
// streams already written carry them and as a suite may write by hand.
func TestAttrsRoundTrip(t *testing.T) {
	def := scoring.Definition{Name: "latency.p99", Unit: "ms", Direction: scoring.LowerIsBetter,
		Min: 0, Max: 1000, Threshold: scoring.Threshold(250), Weight: 2}
	key, _ := MetricKey(def.Name)
	in := []Metric{
		{Key: key, Result: def.Evaluate(120)},
		{Key: "nan", Result: scoring.Definition{Name: "nan"}.Evaluate(math.NaN())},
		{Key: "inf", Result: scoring.Definition{Name: "inf"}.Evaluate(math.Inf(-1))},
	}
	var got Test
	for _, m := range in {
		a := MetricAttr(m)
		assert.NotContains(t, a.Key, " ")
		assert.NotContains(t, a.Value, "\n")
		require.NoError(t, got.ApplyAttr(a.Key, a.Value))
	}
	for _, a := range append([]Attr{{AttrScore, "77.5"}, {AttrScoreMethod, "weighted"}},
		listAttr(AttrTags, []string{"es-en", "medical"}),
		listAttr(AttrParticipants, []string{"doctor"}),
		Attr{AttrTestID, "doctor-patient"},
		Attr{AttrTestName, OneLine("Doctor\nand patient")},
		Attr{"build", "nightly"},
	) {
		require.NoError(t, got.ApplyAttr(a.Key, a.Value))
	}

	assertDoctorPatient(t, got)
}

// assertDoctorPatient checks the test both round trips rebuild.
func assertDoctorPatient(t *testing.T, got Test) {
	t.Helper()
	require.Len(t, got.Metrics, 3)
	m := got.Metrics[0]
	assert.Equal(t, "latency%2Ep99", m.Key)
	assert.Equal(t, "latency.p99", m.Name)
	assert.Equal(t, 120.0, m.Value)
	assert.Equal(t, "ms", m.Unit)
	assert.Equal(t, scoring.LowerIsBetter, m.Direction)
	assert.Equal(t, 250.0, *m.Threshold)
	assert.Equal(t, 2.0, m.Weight)
	assert.InDelta(t, 88, m.Score, 1e-9)
	assert.True(t, *m.Passed)
	assert.True(t, math.IsNaN(got.Metrics[1].Value))
	assert.True(t, math.IsInf(got.Metrics[2].Value, -1))

	assert.Equal(t, 77.5, *got.Score)
	assert.Equal(t, "weighted", got.ScoreMethod)
	assert.Equal(t, []string{"es-en", "medical"}, got.Tags)
	assert.Equal(t, []string{"doctor"}, got.Participants)
	assert.Equal(t, "doctor-patient", got.TestID)
	assert.Equal(t, "Doctor and patient", got.TestName)
	assert.Equal(t, map[string]string{"build": "nightly"}, got.Attrs)
}

// What Record emits now: one evalrec.record attribute a call and one for
// the score, which rebuild the same test as the attributes above.
func TestRecordedAttrsRoundTrip(t *testing.T) {
	def := scoring.Definition{Name: "latency.p99", Unit: "ms", Direction: scoring.LowerIsBetter,
		Min: 0, Max: 1000, Threshold: scoring.Threshold(250), Weight: 2}
	key, _ := MetricKey(def.Name)
	first := Recorded{
		Metrics: []Metric{
			{Key: key, Result: def.Evaluate(120)},
			{Key: "nan", Result: scoring.Definition{Name: "nan"}.Evaluate(math.NaN())},
		},
		Tags:   []string{"es-en"},
		TestID: "doctor-patient",
	}
	second := Recorded{
		Metrics:      []Metric{{Key: "inf", Result: scoring.Definition{Name: "inf"}.Evaluate(math.Inf(-1))}},
		Tags:         []string{"es-en", "medical"},
		Participants: []string{"doctor"},
		TestName:     OneLine("Doctor\nand patient"),
	}
	score := 77.5
	var got Test
	for _, r := range []Recorded{first, second, {Score: &score, Method: "weighted"}} {
		a := r.Attr()
		assert.Equal(t, AttrRecord, a.Key)
		assert.NotContains(t, a.Value, "\n")
		require.NoError(t, got.ApplyAttr(a.Key, a.Value))
	}
	require.NoError(t, got.ApplyAttr("build", "nightly"))

	assertDoctorPatient(t, got)
}

// The line testing prints for an evalrec.record is not taken for a secret
// when a failed test's output is stored: its metrics name themselves with
// "metric", since a field "key" reads as one in some text.
func TestARecordAttrLineIsNotMasked(t *testing.T) {
	a := Recorded{Metrics: []Metric{{Key: "wer", Result: scoring.Definition{Name: "wer"}.Evaluate(0.1)}}, TestID: "id-1"}.Attr()
	line := "=== ATTR  TestA " + a.Key + " " + a.Value + "\n"
	assert.Equal(t, line, redact.Text(line))
}

// A hand-written evalrec.record may leave out a metric's score, which is
// then scored as its default definition would; one that is not evalrec's
// JSON is an error and changes nothing.
func TestAHandWrittenRecordAttr(t *testing.T) {
	var got Test
	require.NoError(t, got.ApplyAttr(AttrRecord, `{"metrics":[{"metric":"wer","value":0.25}]}`))
	require.Len(t, got.Metrics, 1)
	assert.Equal(t, 0.25, got.Metrics[0].Value)
	assert.True(t, got.Metrics[0].Assumed)
	assert.InDelta(t, 25, got.Metrics[0].Score, 1e-9)

	for _, bad := range []string{`{"metrics":`, `{"metrics":[{"metric":"wer","value":"high"}]}`, `{"metrics":[{"value":0.5}]}`} {
		err := got.ApplyAttr(AttrRecord, bad)
		require.Error(t, err, bad)
		assert.Contains(t, err.Error(), AttrRecord)
	}
	assert.Len(t, got.Metrics, 1)
	assert.Nil(t, got.Score)
}

// Records are decoded into reused memory: one decoded later changes
// nothing a test took from an earlier one (its score, metrics, tags).
func TestRecordsDecodedInTurnKeepTheirValues(t *testing.T) {
	first := `{"metrics":[{"metric":"wer","value":0.25,"threshold":0.3,"direction":"lower","score":80},{"metric":"bleu","value":0.5,"direction":"higher","score":50}],"score":65,"tags":["a"]}`
	second := `{"metrics":[{"metric":"wer","value":0.9,"threshold":0.1,"direction":"lower","score":1},{"metric":"bleu","value":0.1,"direction":"higher","score":10}],"score":5,"tags":["b"]}`
	var a, b Test
	require.NoError(t, a.ApplyAttr(AttrRecord, first))
	want := a
	want.Metrics = slices.Clone(a.Metrics)
	wantScore, wantThreshold := *a.Score, *a.Metrics[0].Threshold
	for range 3 {
		require.NoError(t, b.ApplyAttr(AttrRecord, second))
	}
	assert.Equal(t, want.Metrics, a.Metrics)
	assert.Equal(t, wantScore, *a.Score)
	assert.Equal(t, wantThreshold, *a.Metrics[0].Threshold)
	assert.Equal(t, []string{"a"}, a.Tags)
	assert.Equal(t, 5.0, *b.Score)
	assert.Equal(t, 0.9, b.Metrics[0].Value)
}

// An evalrec key this version does not know, most likely a newer
// library's, is kept, and said.
func TestAnUnknownEvalrecAttrIsKeptAndSaid(t *testing.T) {
	var got Test
	err := got.ApplyAttr("evalrec.verdict", `{"x":1}`)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "evalrec.verdict is not one this evalrec knows")
	assert.Equal(t, map[string]string{"evalrec.verdict": `{"x":1}`}, got.Attrs)
}

func TestLaterMetricAttrReplacesEarlier(t *testing.T) {
	var tr Test
	require.NoError(t, tr.ApplyAttr(MetricAttr(Metric{Key: "wer", Result: scoring.Result{Name: "wer", Value: 0.3}}).Key,
		MetricAttr(Metric{Key: "wer", Result: scoring.Result{Name: "wer", Value: 0.3}}).Value))
	a := MetricAttr(Metric{Key: "wer", Result: scoring.Result{Name: "wer", Value: 0.1}})
	require.NoError(t, tr.ApplyAttr(a.Key, a.Value))
	require.Len(t, tr.Metrics, 1)
	assert.Equal(t, 0.1, tr.Metrics[0].Value)
}

func TestBadEvalrecAttrIsAnErrorNotAPanic(t *testing.T) {
	var tr Test
	assert.Error(t, tr.ApplyAttr(AttrScore, "high"))
	assert.Error(t, tr.ApplyAttr(AttrMetricPrefix+"x", "{"))
	assert.Error(t, tr.ApplyAttr(AttrTags, "a,b"))
	assert.Empty(t, tr.Metrics)
}

func TestComplete(t *testing.T) {
	passed := Test{Package: "m/p", Name: "TestA", Status: Passed, Tags: []string{"b", " a ", "b", ""}}
	passed.Complete()
	assert.Equal(t, "m/p.TestA", passed.TestID)
	assert.Equal(t, "TestA", passed.TestName)
	assert.Equal(t, 1, passed.Attempt)
	assert.Equal(t, 100.0, *passed.Score)
	assert.Equal(t, StatusScoreMethod, passed.ScoreMethod)
	assert.Equal(t, []string{"a", "b"}, passed.Tags)

	for _, st := range []Status{Failed, Incomplete} {
		tr := Test{Name: "T", Status: st}
		tr.Complete()
		assert.Equal(t, 0.0, *tr.Score, st)
	}
	skipped := Test{Name: "T", Status: Skipped}
	skipped.Complete()
	assert.Nil(t, skipped.Score)

	withMetrics := Test{Name: "T", Status: Failed, Metrics: []Metric{{Key: "b", Result: scoring.Result{Score: 40}}, {Key: "a", Result: scoring.Result{Score: 60}}}}
	withMetrics.Complete()
	require.NotNil(t, withMetrics.Score)
	assert.Equal(t, 50.0, *withMetrics.Score, "a test with metrics is scored by its calculator, never by status")
	assert.Equal(t, "a", withMetrics.Metrics[0].Key)
}

func TestAHandWrittenMetricAttributeGetsASafeKey(t *testing.T) {
	var tr Test
	require.NoError(t, tr.ApplyAttr("evalrec.metric.lat.p99", `{"value":12,"direction":"lower","score":50}`))
	require.Len(t, tr.Metrics, 1)
	assert.Equal(t, "lat%2Ep99", tr.Metrics[0].Key)
	assert.Equal(t, "lat.p99", tr.Metrics[0].Name)
}

func TestTestIDsAreOneLineInEveryMode(t *testing.T) {
	tr := Test{Package: "p", Name: "TestX", TestID: " scenario\n42 ", TestName: "first\r\nsecond", Status: Passed}
	tr.Complete()
	assert.Equal(t, "scenario 42", tr.TestID)
	assert.Equal(t, "first second", tr.TestName)
}

func TestHandWrittenMetricsAreScored(t *testing.T) {
	var tr Test
	require.NoError(t, tr.ApplyAttr("evalrec.metric.wer", "0.093"))
	require.NoError(t, tr.ApplyAttr("evalrec.metric.acc", `{"value":0.8}`))
	tr.Status = Passed
	tr.Complete()
	require.NotNil(t, tr.Score, "no evalrec.score: computed from the metrics")
	assert.InDelta(t, (9.3+80)/2, *tr.Score, 1e-9)
	assert.Equal(t, scoring.Average, tr.ScoreMethod)
	for _, m := range tr.Metrics {
		assert.True(t, m.Assumed, "%s: nothing said which way it improves", m.Key)
	}
}

// listAttr encodes a list as the evalrec.tags and evalrec.participants
// attributes that Record emitted before evalrec.record, which are still
// read.
func listAttr(key string, list []string) Attr {
	b, err := json.Marshal(list)
	if err != nil {
		panic(err)
	}
	return Attr{key, string(b)}
}
