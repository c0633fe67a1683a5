package samples

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"evalrec.dev/model"
)

// A digest is the Results of one finished run, encoded in a few bytes a
// test run, which a driver stores next to the run's documents so that the
// statistics, compare and show read one value a run instead of one
// document a test run. Rows are sorted by test ID, and each string is
// written as the length it shares with the same string of the row before
// and the rest: on a 50,000-test suite, a digest takes about 17 bytes a
// passing test run.
//
// The format, after a version byte:
//
//	uvarint metrics; each: key, name, direction (strings), assumed (byte)
//	uvarint score methods; each: a string
//	varint  base (the earliest Finished)
//	uvarint rows; each:
//	        test ID, test name, package and test run ID, each as uvarint
//	              shared, uvarint n, n bytes
//	        byte: status (bits 0–2), cached (bit 3), score kind (bits 4–5:
//	              none, 100, 0, or 8 bytes that follow), go test name
//	              given (bit 6: else it is the test name)
//	        [8 bytes score] [go test name, shared with the one before]
//	        uvarint score method, uvarint attempt
//	        uvarint Finished − base, uvarint duration in microseconds
//	        uvarint values; each: uvarint metric, 8 bytes value (±Inf or
//	              NaN: not finite), byte (bits 0–1: passed unknown, no,
//	              yes; bit 2: a threshold follows), [8 bytes threshold]
//
// Strings are uvarint n, n bytes; numbers are little-endian IEEE 754. A
// digest of another version is no digest: the reader reads the run's rows
// instead, and stores a digest of this one.
const digestVersion = 2

// EncodeDigest encodes rs, which must hold the results of one run.
func EncodeDigest(rs *Results) []byte {
	b := []byte{digestVersion}
	b = binary.AppendUvarint(b, uint64(len(rs.Metrics)))
	for _, m := range rs.Metrics {
		b = appendString(b, m.Key)
		b = appendString(b, m.Name)
		b = appendString(b, m.Direction)
		b = append(b, boolByte(m.Assumed))
	}
	b = binary.AppendUvarint(b, uint64(len(rs.methods)))
	for _, m := range rs.methods {
		b = appendString(b, m)
	}
	base := int64(math.MaxInt64)
	for _, r := range rs.Rows {
		base = min(base, r.Finished)
	}
	if len(rs.Rows) == 0 {
		base = 0
	}
	b = binary.AppendVarint(b, base)
	order := make([]int, len(rs.Rows))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(i, j int) int {
		return strings.Compare(rs.Tests[rs.Rows[i].Test].TestID, rs.Tests[rs.Rows[j].Test].TestID)
	})
	b = binary.AppendUvarint(b, uint64(len(rs.Rows)))
	var prev TestKey
	var prevRun string
	for _, i := range order {
		r := &rs.Rows[i]
		t := rs.Tests[r.Test]
		b = appendShared(b, prev.TestID, t.TestID)
		b = appendShared(b, prev.TestName, t.TestName)
		b = appendShared(b, prev.Package, t.Package)
		id := ""
		if i < len(rs.ids) {
			id = rs.ids[i]
		}
		b = appendShared(b, prevRun, id)
		prevRun = id
		kind := uint8(3)
		switch {
		case !r.HasScore():
			kind = 0
		case r.Score == 100:
			kind = 1
		case r.Score == 0 && !math.Signbit(r.Score):
			kind = 2
		}
		goTest := t.GoTest != t.TestName
		b = append(b, r.status|boolByte(r.Cached)<<3|kind<<4|boolByte(goTest)<<6)
		if kind == 3 {
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(r.Score))
		}
		if goTest {
			b = appendShared(b, prev.GoTest, t.GoTest)
		}
		prev = t
		b = binary.AppendUvarint(b, uint64(r.method))
		b = binary.AppendUvarint(b, uint64(r.Attempt))
		b = binary.AppendUvarint(b, uint64(r.Finished-base))
		b = binary.AppendUvarint(b, uint64(max(0, math.Round(r.DurationMS*1000))))
		vs := rs.ValuesOf(i)
		b = binary.AppendUvarint(b, uint64(len(vs)))
		for _, v := range vs {
			b = binary.AppendUvarint(b, uint64(v.Metric))
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v.Value))
			hasThreshold := !math.IsNaN(v.Threshold)
			b = append(b, uint8(v.Passed)|boolByte(hasThreshold)<<2)
			if hasThreshold {
				b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v.Threshold))
			}
		}
	}
	return b
}

var errDigest = errors.New("damaged digest")

// ErrDigestVersion says a digest is of another version than this
// evalrec's.
var ErrDigestVersion = errors.New("a digest of another version")

// DecodeDigest adds the results of run that digest b holds to rs.
func DecodeDigest(b []byte, run model.ID, rs *Results) (err error) {
	d := digestReader{b: b}
	defer func() {
		if d.err != nil {
			err = fmt.Errorf("reading the results of run %s: %w", run.Hex(), d.err)
		}
	}()
	if v := d.byte(); v != digestVersion {
		if d.err == nil {
			d.err = fmt.Errorf("%w (%d)", ErrDigestVersion, v)
		}
		return
	}
	nm := d.uvarint()
	metrics := make([]int32, 0, min(nm, 1024))
	for range nm {
		k := MetricKey{Key: string(d.str()), Name: string(d.str()), Direction: string(d.str()), Assumed: d.byte() != 0}
		if d.err != nil {
			return
		}
		metrics = append(metrics, rs.metric(k))
	}
	nmeth := d.uvarint()
	methods := make([]uint8, 0, min(nmeth, 256))
	for range nmeth {
		m := d.str()
		if d.err != nil {
			return
		}
		methods = append(methods, rs.method(string(m)))
	}
	base := d.varint()
	n := d.uvarint()
	if n <= uint64(len(b)) {
		// Room for the run's rows at once (the next runs reuse it), and
		// for its tests, the first time.
		rs.Rows = slices.Grow(rs.Rows, int(n))
		rs.next = slices.Grow(rs.next, int(n))
		if len(rs.Tests) == 0 {
			rs.Tests = slices.Grow(rs.Tests, int(n))
		}
	}
	ri := rs.Run(run)
	var id, name, pkg, goTest, runID []byte
	rs.next, rs.seqPos = rs.next[:0], 0
	for range n {
		id = d.shared(id)
		name = d.shared(name)
		pkg = d.shared(pkg)
		runID = d.shared(runID)
		flags := d.byte()
		r := Result{Run: ri, status: flags & 7, Cached: flags&8 != 0, Score: math.NaN()}
		switch flags >> 4 & 3 {
		case 1:
			r.Score = 100
		case 2:
			r.Score = 0
		case 3:
			r.Score = d.float()
		}
		if flags&64 != 0 {
			goTest = d.shared(goTest)
		} else {
			goTest = append(goTest[:0], name...)
		}
		m := d.uvarint()
		r.Attempt = uint16(min(d.uvarint(), math.MaxUint16))
		r.Finished = base + int64(d.uvarint())
		r.DurationMS = float64(d.uvarint()) / 1000
		if d.err == nil && m >= uint64(len(methods)) {
			d.err = errDigest
		}
		nv := d.uvarint()
		if d.err != nil || int(r.status) >= len(statuses) {
			d.err = cmp.Or(d.err, errDigest)
			return
		}
		r.method = methods[m]
		r.from = int32(len(rs.Values))
		for range nv {
			m := d.uvarint()
			v := MetricValue{Value: d.float(), Threshold: math.NaN()}
			f := d.byte()
			v.Passed = passed(f & 3)
			if f&4 != 0 {
				v.Threshold = d.float()
			}
			if d.err == nil && (m >= uint64(len(metrics)) || v.Passed > 2) {
				d.err = errDigest
			}
			if d.err != nil {
				return
			}
			v.Metric = metrics[m]
			rs.Values = append(rs.Values, v)
		}
		r.to = int32(len(rs.Values))
		r.Test = testIndex(rs, id, name, pkg, goTest, r.Finished)
		rs.next = append(rs.next, r.Test)
		rs.Rows = append(rs.Rows, r)
		if rs.KeepIDs {
			rs.ids = append(rs.ids, string(runID))
		}
	}
	rs.seq, rs.next, rs.seqPos = rs.next, rs.seq[:0], 0
	if d.err == nil && len(d.b) != 0 {
		d.err = fmt.Errorf("%w: %d bytes left over", errDigest, len(d.b))
	}
	return nil
}

func boolByte(v bool) uint8 {
	if v {
		return 1
	}
	return 0
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// appendShared writes s as the length of the prefix it shares with prev,
// and the rest.
func appendShared(b []byte, prev, s string) []byte {
	n := 0
	for n < len(prev) && n < len(s) && prev[n] == s[n] {
		n++
	}
	b = binary.AppendUvarint(b, uint64(n))
	return appendString(b, s[n:])
}

// digestReader reads a digest; the first error sticks, and every read
// after it returns zero.
type digestReader struct {
	b   []byte
	err error
}

func (d *digestReader) fail() {
	if d.err == nil {
		d.err = errDigest
	}
	d.b = nil
}

func (d *digestReader) byte() uint8 {
	if len(d.b) < 1 {
		d.fail()
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

func (d *digestReader) uvarint() uint64 { return readVarint(d, binary.Uvarint) }
func (d *digestReader) varint() int64   { return readVarint(d, binary.Varint) }

func readVarint[T uint64 | int64](d *digestReader, read func([]byte) (T, int)) T {
	v, n := read(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *digestReader) float() float64 {
	if len(d.b) < 8 {
		d.fail()
		return 0
	}
	v := math.Float64frombits(binary.LittleEndian.Uint64(d.b))
	d.b = d.b[8:]
	return v
}

func (d *digestReader) str() []byte {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.fail()
		return nil
	}
	s := d.b[:n]
	d.b = d.b[n:]
	return s
}

// shared reads a string written by appendShared after prev, into prev's
// buffer when it fits.
func (d *digestReader) shared(prev []byte) []byte {
	n := d.uvarint()
	rest := d.str()
	if n > uint64(len(prev)) {
		d.fail()
		return prev[:0]
	}
	return append(prev[:n], rest...)
}
