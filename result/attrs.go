package result

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	json "github.com/goccy/go-json"

	"evalrec.dev/scoring"
)

// The t.Attr convention. evalrec.Record emits these pairs so that a
// go test -json stream carries everything the converter needs to rebuild the
// same [Test]. Keys never contain whitespace and values never contain a
// newline, as testing.T.Attr requires.
//
//	evalrec.record         JSON object, see [Recorded]: what Record emits
//	evalrec.metric.<key>   JSON object, see attrMetric
//	evalrec.score          the test's score, decimal
//	evalrec.score_method   the calculator's name
//	evalrec.test_id        explicit stable ID
//	evalrec.test_name      explicit human-readable name
//	evalrec.tags           JSON array of strings
//	evalrec.participants   JSON array of strings
//
// A test may emit the same key several times; the last value wins. Metrics
// with different keys accumulate, and so do the fields of several
// evalrec.record values. The keys after the first are what earlier versions
// emitted, and what a suite may write by hand: they are still read.
const (
	AttrPrefix       = "evalrec."
	AttrRecord       = AttrPrefix + "record"
	AttrMetricPrefix = AttrPrefix + "metric."
	AttrScore        = AttrPrefix + "score"
	AttrScoreMethod  = AttrPrefix + "score_method"
	AttrTestID       = AttrPrefix + "test_id"
	AttrTestName     = AttrPrefix + "test_name"
	AttrTags         = AttrPrefix + "tags"
	AttrParticipants = AttrPrefix + "participants"
)

// attrMetric is the JSON value of an evalrec.metric.<key> attribute, and a
// metric of an evalrec.record attribute, which also gives its key.
type attrMetric struct {
	Key       string   `json:"metric,omitempty"` // in an evalrec.record only
	Name      string   `json:"name,omitempty"`   // original name, when the key differs
	Value     *float64 `json:"value"`            // null when not finite
	NonFinite string   `json:"nonfinite,omitempty"`
	Unit      string   `json:"unit,omitempty"`
	Direction string   `json:"direction"`
	Threshold *float64 `json:"threshold,omitempty"`
	Weight    float64  `json:"weight,omitempty"`
	Score     *float64 `json:"score"`
	Passed    *bool    `json:"passed,omitempty"`
	Assumed   bool     `json:"assumed,omitempty"`
}

// Attr is one key/value pair for testing.T.Attr.
type Attr struct{ Key, Value string }

// MetricAttr encodes one metric as an evalrec.metric.<key> attribute, as
// Record emitted it before evalrec.record.
func MetricAttr(m Metric) Attr {
	return Attr{AttrMetricPrefix + m.Key, string(metricJSON(m))}
}

// metricJSON is the JSON of an evalrec.metric.<key> attribute's value.
func metricJSON(m Metric) []byte {
	b, _ := json.Marshal(encodeMetric(m)) // cannot fail: no NaN reaches the encoder
	return b
}

func encodeMetric(m Metric) attrMetric {
	score := m.Score
	am := attrMetric{
		Unit:      m.Unit,
		Direction: m.Direction.String(),
		Threshold: m.Threshold,
		Score:     &score,
		Passed:    m.Passed,
		Assumed:   m.Assumed,
	}
	if m.Weight != 1 {
		am.Weight = m.Weight
	}
	if m.Name != m.Key {
		am.Name = m.Name
	}
	if nf := NonFinite(m.Value); nf != "" {
		am.NonFinite = nf
	} else {
		v := m.Value
		am.Value = &v
	}
	return am
}

// MarshalText writes m as its attribute, key and value separated by a
// space: the JSON form of a metric (in a journal), which keeps NaN and
// ±Inf, as JSON numbers cannot.
func (m Metric) MarshalText() ([]byte, error) {
	b := metricJSON(m)
	text := make([]byte, 0, len(AttrMetricPrefix)+len(m.Key)+1+len(b))
	return append(append(append(append(text, AttrMetricPrefix...), m.Key...), ' '), b...), nil
}

// UnmarshalText reads what MarshalText wrote.
func (m *Metric) UnmarshalText(b []byte) error {
	k, v, _ := strings.Cut(string(b), " ")
	if !strings.HasPrefix(k, AttrMetricPrefix) {
		return fmt.Errorf("not a metric: %.60q", b)
	}
	var t Test
	if err := t.ApplyAttr(k, v); err != nil {
		return err
	}
	*m = t.Metrics[0]
	return nil
}

// Recorded is what one evalrec.record attribute carries: what one Record
// call set, with the score so far on the first call, or, when the test
// ends, a score a later call changed. Record once emitted one attribute a
// metric and two for the score; each attribute is two events of a go test
// -json stream, which the go command encodes and every reader decodes, so
// a test that records two metrics once costs 6 events instead of 12.
//
// Zero fields leave the test as it is; metrics are added to its others.
type Recorded struct {
	Metrics      []Metric
	Score        *float64 // finite, as scoring's calculators promise; else left out
	Method       string
	TestID       string
	TestName     string
	Tags         []string
	Participants []string
}

// attrRecord is the JSON value of an evalrec.record attribute.
type attrRecord struct {
	Metrics      []attrMetric `json:"metrics,omitempty"` // each with its key
	Score        *float64     `json:"score,omitempty"`
	Method       string       `json:"method,omitempty"`
	TestID       string       `json:"test_id,omitempty"`
	TestName     string       `json:"test_name,omitempty"`
	Tags         []string     `json:"tags,omitempty"`
	Participants []string     `json:"participants,omitempty"`
}

// Attr encodes r as one evalrec.record attribute.
func (r Recorded) Attr() Attr {
	ar := attrRecord{Method: r.Method, TestID: r.TestID, TestName: r.TestName, Tags: r.Tags, Participants: r.Participants}
	if r.Score != nil && NonFinite(*r.Score) == "" {
		ar.Score = r.Score
	}
	if len(r.Metrics) > 0 {
		ar.Metrics = make([]attrMetric, len(r.Metrics))
		for i, m := range r.Metrics {
			ar.Metrics[i] = encodeMetric(m)
			ar.Metrics[i].Key = m.Key
		}
	}
	b, _ := json.Marshal(ar) // cannot fail: no NaN reaches the encoder
	return Attr{AttrRecord, string(b)}
}

// records holds decoded evalrec.record values for reuse: their metrics'
// array is decoded into, one a test run.
var records = sync.Pool{New: func() any { return new(attrRecord) }}

// applyRecord folds an evalrec.record value into t.
func (t *Test) applyRecord(value string) error {
	ar := records.Get().(*attrRecord)
	defer func() {
		// Nothing of it is decoded into twice: t keeps its pointers.
		ms := ar.Metrics[:cap(ar.Metrics)]
		clear(ms)
		*ar = attrRecord{Metrics: ms[:0]}
		records.Put(ar)
	}()
	if err := json.Unmarshal([]byte(value), ar); err != nil {
		return fmt.Errorf("attribute %s: %w", AttrRecord, err)
	}
	for _, am := range ar.Metrics {
		if am.Key == "" {
			return fmt.Errorf("attribute %s: a metric without its key", AttrRecord)
		}
	}
	for _, am := range ar.Metrics {
		if err := t.addMetric(am.Key, am); err != nil {
			return err
		}
	}
	if ar.Score != nil {
		t.Score = ar.Score
	}
	if ar.Method != "" {
		t.ScoreMethod = ar.Method
	}
	if ar.TestID != "" {
		t.TestID = OneLine(ar.TestID)
	}
	if ar.TestName != "" {
		t.TestName = OneLine(ar.TestName)
	}
	if ar.Tags != nil {
		t.Tags = ar.Tags
	}
	if ar.Participants != nil {
		t.Participants = ar.Participants
	}
	return nil
}

var newlines = strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ")

// OneLine makes s usable as an attribute value.
func OneLine(s string) string {
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	return newlines.Replace(s)
}

// NonFinite returns "NaN", "+Inf" or "-Inf" for a non-finite v, else "".
func NonFinite(v float64) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	}
	return ""
}

// ApplyAttr folds one attribute into t. Attributes outside the evalrec
// convention are kept in t.Attrs. An evalrec attribute that cannot be decoded
// is returned as an error and otherwise ignored; one of a key this version
// does not know is kept in t.Attrs, and returned as an error too.
func (t *Test) ApplyAttr(key, value string) error {
	if !strings.HasPrefix(key, AttrPrefix) {
		if t.Attrs == nil {
			t.Attrs = map[string]string{}
		}
		t.Attrs[key] = value
		return nil
	}
	switch key {
	case AttrRecord:
		return t.applyRecord(value)
	case AttrScore:
		s, err := strconv.ParseFloat(value, 64)
		if err != nil {
			return fmt.Errorf("attribute %s: %w", key, err)
		}
		t.Score = &s
	case AttrScoreMethod:
		t.ScoreMethod = value
	case AttrTestID:
		t.TestID = value
	case AttrTestName:
		t.TestName = value
	case AttrTags, AttrParticipants:
		var list []string
		if err := json.Unmarshal([]byte(value), &list); err != nil {
			return fmt.Errorf("attribute %s: %w", key, err)
		}
		if key == AttrTags {
			t.Tags = list
		} else {
			t.Participants = list
		}
	default:
		mk, ok := strings.CutPrefix(key, AttrMetricPrefix)
		if !ok {
			// An evalrec.* key this version does not know: keep it, and
			// say so, since it is most likely a newer library's.
			if t.Attrs == nil {
				t.Attrs = map[string]string{}
			}
			t.Attrs[key] = value
			return fmt.Errorf("attribute %s is not one this evalrec knows, and is kept as a plain attribute: is the library newer than the command? (go tool evalrec runs the go.mod's version)", OneLine(key[:min(len(key), 60)]))
		}
		return t.applyMetric(mk, value)
	}
	return nil
}

// applyMetric folds the metric of key, encoded as value, into t.
func (t *Test) applyMetric(key, value string) error {
	am, err := parseMetric(value)
	if err != nil {
		return metricError(key, err)
	}
	return t.addMetric(key, am)
}

// addMetric folds the metric of key into t.
func (t *Test) addMetric(key string, am attrMetric) error {
	m, err := decodeMetric(key, am)
	if err != nil {
		return metricError(key, err)
	}
	if err := CheckName(m.Name); err != nil {
		return err
	}
	// The key is rebuilt from the name: a hand-written attribute may name
	// the metric with characters a key cannot hold.
	m.Key, _ = MetricKey(m.Name)
	t.SetMetric(m)
	return nil
}

// metricError says which metric attribute err is about.
func metricError(key string, err error) error {
	full := AttrMetricPrefix + key
	return fmt.Errorf("attribute %s: %w", OneLine(full[:min(len(full), 60)]), err)
}

// SetMetric adds m, replacing a metric with the same key.
func (t *Test) SetMetric(m Metric) {
	for i := range t.Metrics {
		if t.Metrics[i].Key == m.Key {
			t.Metrics[i] = m
			return
		}
	}
	t.Metrics = append(t.Metrics, m)
}

// parseMetric reads an evalrec.metric.<key> attribute's value: the JSON
// Record writes or, written by hand, a bare number.
func parseMetric(value string) (attrMetric, error) {
	var am attrMetric
	if v, err := strconv.ParseFloat(strings.TrimSpace(value), 64); err == nil {
		am.Value, am.Assumed = &v, true
	} else if err := json.Unmarshal([]byte(value), &am); err != nil {
		return am, fmt.Errorf("want a number or evalrec's metric JSON: %w", err)
	}
	return am, nil
}

// decodeMetric builds the metric of key from its attribute. JSON that
// leaves out the score, written by hand, is scored as scoring's default
// definition would.
func decodeMetric(key string, am attrMetric) (Metric, error) {
	dir, err := scoring.ParseDirection(am.Direction)
	if err != nil {
		return Metric{}, err
	}
	name := key
	if am.Name != "" {
		name = am.Name
	}
	var v float64
	switch {
	case am.Value != nil:
		v = *am.Value
	case am.NonFinite == "+Inf":
		v = math.Inf(1)
	case am.NonFinite == "-Inf":
		v = math.Inf(-1)
	default:
		v = math.NaN()
	}
	if am.Score == nil {
		// Hand-written: score it as a definition of what it says would.
		r := scoring.Definition{Name: name, Unit: am.Unit, Direction: dir, Threshold: am.Threshold, Weight: am.Weight}.Evaluate(v)
		_, unitKnown := scoring.DirectionOfUnit(am.Unit)
		r.Assumed = am.Direction == "" && !unitKnown
		return Metric{Key: key, Result: r}, nil
	}
	m := Metric{Key: key, Result: scoring.Result{
		Name:      name,
		Value:     v,
		Unit:      am.Unit,
		Direction: dir,
		Threshold: am.Threshold,
		Weight:    am.Weight,
		Score:     *am.Score,
		Passed:    am.Passed,
		Assumed:   am.Assumed,
	}}
	if m.Weight == 0 {
		m.Weight = 1
	}
	return m, nil
}

// SystemLinePrefix starts the line a test binary prints, in go test -json
// mode only, to announce its system snapshot: the prefix, then the JSON of a
// provenance.System (hostname left out).
const SystemLinePrefix = "evalrec: system under test: "

// AttrLineLimit is the longest framing line test2json recognises (its input
// buffer, including the ^V marker and the newline). An === ATTR line that
// is longer reaches the stream as plain output, and the attribute is lost;
// [SplitAttr] keeps evalrec's attributes under it.
const AttrLineLimit = 4096

// minPiece is the smallest piece SplitAttr cuts, whatever the budget.
const minPiece = 256

// SplitAttr returns a as it is when its framing line, for a test called
// testName, fits within AttrLineLimit, or else cut into pieces that do:
// KEY#1/N … KEY#N/N, each holding a slice of the value. [Chunks] joins them
// again. Pieces never split a UTF-8 sequence, nor end in a space, which
// could be trimmed.
func SplitAttr(testName string, a Attr) []Attr {
	const frame = len("\x16=== ATTR  ") + 2 /* spaces */ + 1 /* newline */ + len("#999/999") + 16 /* margin */
	budget := max(AttrLineLimit-frame-len(testName)-len(a.Key), minPiece)
	if len(a.Value) <= budget || !strings.HasPrefix(a.Key, AttrPrefix) {
		return []Attr{a}
	}
	var pieces []string
	for v := a.Value; v != ""; {
		n := min(budget, len(v))
		for n < len(v) && n > 1 && (!utf8.RuneStart(v[n]) || v[n-1] == ' ') {
			n--
		}
		pieces = append(pieces, v[:n])
		v = v[n:]
	}
	out := make([]Attr, len(pieces))
	for i, p := range pieces {
		out[i] = Attr{fmt.Sprintf("%s#%d/%d", a.Key, i+1, len(pieces)), p}
	}
	return out
}

var pieceKey = regexp.MustCompile(`^(` + regexp.QuoteMeta(AttrPrefix) + `.+)#(\d+)/(\d+)$`)

// Chunks joins attributes that [SplitAttr] cut into pieces. The zero value
// is ready to use; keep one per test.
type Chunks struct {
	parts map[string][]string
}

// Add takes one attribute. It returns the attribute to apply and true when
// key is whole or its last missing piece arrived, and false while pieces are
// missing.
func (c *Chunks) Add(key, value string) (string, string, bool) {
	m := pieceKey.FindStringSubmatch(key)
	if m == nil {
		return key, value, true
	}
	i, _ := strconv.Atoi(m[2])
	n, _ := strconv.Atoi(m[3])
	if n < 1 || n > 100000 || i < 1 || i > n {
		return key, value, true // not one of ours: keep it as it is
	}
	if c.parts == nil {
		c.parts = map[string][]string{}
	}
	base := m[1]
	ps := c.parts[base]
	if len(ps) != n {
		ps = make([]string, n) // a new series replaces an unfinished one
	}
	ps[i-1] = value
	c.parts[base] = ps
	for _, p := range ps {
		if p == "" {
			return "", "", false
		}
	}
	delete(c.parts, base)
	return base, strings.Join(ps, ""), true
}

// Pending counts attributes with pieces still missing.
func (c *Chunks) Pending() int { return len(c.parts) }
