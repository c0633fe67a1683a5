package store

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// A digest is the Results of one finished run, encoded in a few bytes a
// test run, which a driver stores next to the run's documents so that the
// statistics read one value a run instead of one document a test run. Rows
// are sorted by test ID, and each ID and name is written as the length it
// shares with the one before and the rest: on a 50,000-test suite, a
// digest takes about 11 bytes a passing test run.
//
// The format, after a version byte:
//
//	uvarint metrics; each: key, name, direction (strings), assumed (byte)
//	varint  base (the earliest Finished)
//	uvarint rows; each:
//	        test ID and test name, each as uvarint shared, uvarint n, n bytes
//	        byte: status (bits 0–2), cached (bit 3), score kind (bits 4–5:
//	              none, 100, 0, or 8 bytes that follow)
//	        [8 bytes score]
//	        uvarint Finished − base
//	        uvarint values; each: uvarint metric, 8 bytes value (NaN: none)
//
// Strings are uvarint n, n bytes; numbers are little-endian IEEE 754.
const digestVersion = 1

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
	var prevID, prevName string
	for _, i := range order {
		r := &rs.Rows[i]
		t := rs.Tests[r.Test]
		b = appendShared(b, prevID, t.TestID)
		b = appendShared(b, prevName, t.TestName)
		prevID, prevName = t.TestID, t.TestName
		kind := uint8(3)
		switch {
		case !r.HasScore():
			kind = 0
		case r.Score == 100:
			kind = 1
		case r.Score == 0 && !math.Signbit(r.Score):
			kind = 2
		}
		b = append(b, r.status|boolByte(r.Cached)<<3|kind<<4)
		if kind == 3 {
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(r.Score))
		}
		b = binary.AppendUvarint(b, uint64(r.Finished-base))
		vs := rs.ValuesOf(i)
		b = binary.AppendUvarint(b, uint64(len(vs)))
		for _, v := range vs {
			b = binary.AppendUvarint(b, uint64(v.Metric))
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v.Value))
		}
	}
	return b
}

var errDigest = errors.New("damaged digest")

// DecodeDigest adds the results of run that digest b holds to rs.
func DecodeDigest(b []byte, run bson.ObjectID, rs *Results) (err error) {
	d := digestReader{b: b}
	defer func() {
		if d.err != nil {
			err = fmt.Errorf("reading the results of run %s: %w", run.Hex(), d.err)
		}
	}()
	if v := d.byte(); v != digestVersion {
		if d.err == nil {
			d.err = fmt.Errorf("%w: version %d", errDigest, v)
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
	base := d.varint()
	n := d.uvarint()
	ri := rs.Run(run)
	var id, name []byte
	rs.next, rs.seqPos = rs.next[:0], 0
	for range n {
		id = d.shared(id)
		name = d.shared(name)
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
		r.Finished = base + int64(d.uvarint())
		nv := d.uvarint()
		r.from = int32(len(rs.Values))
		for range nv {
			m := d.uvarint()
			v := d.float()
			if d.err == nil && m >= uint64(len(metrics)) {
				d.err = errDigest
			}
			if d.err != nil {
				return
			}
			rs.Values = append(rs.Values, MetricValue{Metric: metrics[m], Value: v})
		}
		r.to = int32(len(rs.Values))
		if d.err != nil || int(r.status) >= len(statuses) {
			d.err = cmp.Or(d.err, errDigest)
			return
		}
		r.Test = rs.test(id, name, r.Finished)
		rs.next = append(rs.next, r.Test)
		rs.Rows = append(rs.Rows, r)
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

func (d *digestReader) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *digestReader) varint() int64 {
	v, n := binary.Varint(d.b)
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
