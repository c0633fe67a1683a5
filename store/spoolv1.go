package store

// Spool files of evalrec's first format, written before the journal: one
// operation a line, as MongoDB Extended JSON. Replay reads them, stores
// what they hold and removes them; nothing writes them any more.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"evalrec.dev/journal"
	"evalrec.dev/model"
	"evalrec.dev/provenance"
)

// replayOps replays a spool file of evalrec's first format: one operation
// per line, as canonical Extended JSON, each an insert into a collection,
// a $set of some fields of a part, or a finalization.
func (d *DB) replayOps(ctx context.Context, path string, r *bufio.Reader, timeout time.Duration, rep *ReplayReport) error {
	in := journal.NewLines(r)
	var ops []op
	var finalize []model.ID
	var sets []legacySet
	for b := in.Next(); b != nil; b = in.Next() {
		var raw struct {
			Kind string          `json:"op"`
			Coll string          `json:"coll"`
			Doc  json.RawMessage `json:"doc"`
			ID   string          `json:"id"`
			Set  json.RawMessage `json:"set"`
			Run  model.ID        `json:"run"`
		}
		plain, err := plainJSON(b)
		if err == nil {
			err = json.Unmarshal(plain, &raw)
		}
		switch {
		case err != nil:
		case raw.Kind == "insert" && raw.Coll == RunsCollection:
			var run model.EvaluationRun
			if err = json.Unmarshal(raw.Doc, &run); err == nil {
				cctx, cancel := context.WithTimeout(ctx, timeout)
				err = d.InsertRun(cctx, &run)
				cancel()
				if errors.Is(err, ErrDuplicateID) || errors.Is(err, ErrDuplicateName) {
					rep.Duplicates++
					err = nil
				} else if err == nil {
					rep.Inserted++
				} else {
					return err
				}
			}
		case raw.Kind == "insert" && raw.Coll == TestsCollection:
			var tr model.TestRun
			if err = json.Unmarshal(raw.Doc, &tr); err == nil {
				ops = append(ops, op{kind: opInsertTest, doc: tr})
			}
		case raw.Kind == "insert" && raw.Coll == PartsCollection:
			var p Part
			if err = json.Unmarshal(raw.Doc, &p); err == nil {
				ops = append(ops, op{kind: opInsertPart, part: &p})
			}
		case raw.Kind == "set" && raw.Coll == PartsCollection:
			sets = append(sets, legacySet{id: raw.ID, set: raw.Set})
		case raw.Kind == "finalize":
			finalize = append(finalize, raw.Run)
		default:
			continue // the part values of the first format: runs now count their test runs
		}
		if err != nil {
			setAside(rep, path, &journal.LineError{Line: in.Line(), Text: b, Err: err})
		}
	}
	var st WriteStats
	_, err := d.apply(ctx, timeout, ops, &st, func() {})
	rep.Inserted += st.Inserted
	rep.Duplicates += st.Duplicates
	rep.Rejected = append(rep.Rejected, st.Rejected...)
	if err != nil {
		return err
	}
	for _, s := range sets {
		if err := d.applyLegacySet(ctx, timeout, s); err != nil {
			return err
		}
	}
	for _, run := range finalize {
		if _, err := d.Finalize(ctx, run, time.Now()); err != nil {
			return err
		}
	}
	return nil
}

// legacySet is a $set of some fields of a part, as the first format
// spooled it.
type legacySet struct {
	id  string
	set json.RawMessage
}

// applyLegacySet applies s to the stored part: the part's _id begins with
// its run's.
func (d *DB) applyLegacySet(ctx context.Context, timeout time.Duration, s legacySet) error {
	run, err := model.ParseID(s.id[:min(24, len(s.id))])
	if err != nil {
		return nil // not a part of this format
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	parts, err := d.parts(cctx, run)
	if err != nil {
		return err
	}
	for _, p := range parts {
		if p.ID != s.id {
			continue
		}
		doc, err := json.Marshal(p)
		if err != nil {
			return err
		}
		var m map[string]any
		if err := json.Unmarshal(doc, &m); err != nil {
			return err
		}
		var set map[string]any
		if err := json.Unmarshal(s.set, &set); err != nil {
			return err
		}
		maps.Copy(m, set)
		if doc, err = json.Marshal(m); err != nil {
			return err
		}
		var np Part
		if err := json.Unmarshal(doc, &np); err != nil {
			return err
		}
		return d.ReplacePart(cctx, &np)
	}
	return nil
}

// oldWriterAlive reads the PID from an old spool file's name,
// RUNID.PID.TIMESTAMP.jsonl.part.
func oldWriterAlive(path string) bool {
	parts := strings.Split(strings.TrimSuffix(filepath.Base(path), journal.PartExt), ".")
	if len(parts) < 3 {
		return false
	}
	pid, err := strconv.Atoi(parts[len(parts)-2])
	return err == nil && pid != os.Getpid() && provenance.ProcessAlive(pid)
}

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
