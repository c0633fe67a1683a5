package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"
)

// plainJSON rewrites one document of MongoDB Extended JSON, as evalrec's
// first spool format wrote it (canonical or relaxed), as plain JSON that
// the domain types decode: {"$oid": h} becomes h, a {"$date": …} an RFC
// 3339 time, {"$numberInt": s} and its kin the number s, and a
// non-finite double null (documents keep none: see [MetricDoc]).
func plainJSON(b []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	p, err := plainValue(v)
	if err != nil {
		return nil, err
	}
	return json.Marshal(p)
}

func plainValue(v any) (any, error) {
	switch v := v.(type) {
	case []any:
		for i, e := range v {
			p, err := plainValue(e)
			if err != nil {
				return nil, err
			}
			v[i] = p
		}
		return v, nil
	case map[string]any:
		if len(v) == 1 {
			for k, w := range v {
				if p, ok, err := wrapped(k, w); ok || err != nil {
					return p, err
				}
			}
		}
		for k, e := range v {
			p, err := plainValue(e)
			if err != nil {
				return nil, err
			}
			v[k] = p
		}
		return v, nil
	}
	return v, nil
}

// wrapped converts one Extended JSON wrapper {k: w}; ok is false when k
// names none.
func wrapped(k string, w any) (_ any, ok bool, _ error) {
	s, isString := w.(string)
	switch k {
	case "$oid":
		return s, isString, nil
	case "$numberInt", "$numberLong", "$numberDecimal":
		return json.Number(s), isString, nil
	case "$numberDouble":
		if !isString {
			return nil, false, nil
		}
		if f, err := strconv.ParseFloat(s, 64); err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, true, nil // NaN, ±Inf
		}
		return json.Number(s), true, nil
	case "$date":
		switch d := w.(type) {
		case string:
			return d, true, nil
		case json.Number:
			ms, err := d.Int64()
			return time.UnixMilli(ms).UTC().Format(time.RFC3339Nano), err == nil, err
		case map[string]any:
			ms, err := strconv.ParseInt(fmt.Sprint(d["$numberLong"]), 10, 64)
			if err != nil {
				return nil, true, fmt.Errorf("a $date that is not a time: %v", d)
			}
			return time.UnixMilli(ms).UTC().Format(time.RFC3339Nano), true, nil
		}
	}
	return nil, false, nil
}
