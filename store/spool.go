package store

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"evalrec.dev/provenance"
)

// Spool format: a directory of files, one per writer, named
// RUNID.PID.TIMESTAMP.jsonl. Each line is one op as canonical MongoDB
// Extended JSON, so ObjectIDs and dates survive the round trip. A file still
// being written ends in ".jsonl.part"; it is renamed when its writer closes.
// Replaying a file applies its ops in order: inserts are idempotent through
// their unique keys and $set ops are deterministic, so replaying twice, or
// replaying what was partly stored already, changes nothing.
const (
	spoolExt     = ".jsonl"
	spoolPartExt = ".jsonl.part"
)

type spoolFile struct {
	f    *os.File
	w    *bufio.Writer
	path string
}

func createSpool(dir, runID string) (*spoolFile, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	name := fmt.Sprintf("%s.%d.%d%s", safeFileName(runID), os.Getpid(), time.Now().UnixNano(), spoolPartExt)
	path := filepath.Join(dir, name)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, err
	}
	return &spoolFile{f: f, w: bufio.NewWriter(f), path: path}, nil
}

func safeFileName(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r == os.PathSeparator || r < ' ' {
			return '_'
		}
		return r
	}, s)
}

func (s *spoolFile) write(ops []op) error {
	for _, o := range ops {
		b, err := bson.MarshalExtJSON(o, true, false)
		if err != nil {
			return fmt.Errorf("spooling %s: %w", o.Kind, err)
		}
		s.w.Write(b)
		s.w.WriteByte('\n')
	}
	if err := s.w.Flush(); err != nil {
		return err
	}
	// Sync so that results survive the test binary being killed right after.
	return s.f.Sync()
}

// close finishes the file and makes it visible to replay.
func (s *spoolFile) close() error {
	err := errors.Join(s.w.Flush(), s.f.Close())
	final := strings.TrimSuffix(s.path, spoolPartExt) + spoolExt
	return errors.Join(err, os.Rename(s.path, final))
}

// ReplayReport says what a replay did.
type ReplayReport struct {
	Files      int // spool files fully replayed and removed
	Ops        int
	Inserted   int
	Duplicates int
	Rejected   []error
	Skipped    []string // files still being written by a live process
}

// Replay stores the spooled results in dir and removes each file once all of
// it is stored. It leaves alone files whose writer is still running.
func (d *DB) Replay(ctx context.Context, dir string, timeout time.Duration) (ReplayReport, error) {
	var rep ReplayReport
	files, err := spoolFiles(dir)
	if err != nil || len(files) == 0 {
		return rep, err
	}
	for _, path := range files {
		if strings.HasSuffix(path, spoolPartExt) && writerAlive(path) {
			rep.Skipped = append(rep.Skipped, path)
			continue
		}
		ops, err := readSpool(path)
		if err != nil {
			return rep, err
		}
		st := applyStats{}
		done, err := d.apply(ctx, timeout, ops, &st)
		rep.Ops += done
		rep.Inserted += st.Inserted
		rep.Duplicates += st.Duplicates
		rep.Rejected = append(rep.Rejected, st.Rejected...)
		if err != nil {
			return rep, fmt.Errorf("replaying %s: %w", filepath.Base(path), err)
		}
		if len(st.Rejected) > 0 {
			// Keep the file: something in it needs a person to look.
			continue
		}
		if err := os.Remove(path); err != nil {
			return rep, err
		}
		rep.Files++
	}
	return rep, nil
}

// PendingSpool lists spool files waiting for replay.
func PendingSpool(dir string) ([]string, error) { return spoolFiles(dir) }

func spoolFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var files []string
	for _, e := range entries {
		if n := e.Name(); !e.IsDir() && (strings.HasSuffix(n, spoolExt) || strings.HasSuffix(n, spoolPartExt)) {
			files = append(files, filepath.Join(dir, n))
		}
	}
	// Names end in the writer's start time; replay oldest first per run.
	sort.Strings(files)
	return files, nil
}

// writerAlive reads the PID from RUNID.PID.TIMESTAMP.jsonl.part.
func writerAlive(path string) bool {
	parts := strings.Split(strings.TrimSuffix(filepath.Base(path), spoolPartExt), ".")
	if len(parts) < 3 {
		return false
	}
	pid, err := strconv.Atoi(parts[len(parts)-2])
	return err == nil && pid != os.Getpid() && provenance.ProcessAlive(pid)
}

func readSpool(path string) ([]op, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var ops []op
	r := bufio.NewReader(f)
	for line := 1; ; line++ {
		b, err := r.ReadBytes('\n')
		if len(bytes.TrimSpace(b)) > 0 {
			var raw struct {
				Kind string        `bson:"op"`
				Coll string        `bson:"coll"`
				Doc  bson.Raw      `bson:"doc"`
				ID   bson.RawValue `bson:"id"`
				Set  bson.Raw      `bson:"set"`
				Run  bson.ObjectID `bson:"run"`
			}
			if uerr := bson.UnmarshalExtJSON(b, true, &raw); uerr != nil {
				if err == io.EOF {
					break // a line cut short by a killed writer: the ops before it still count
				}
				return nil, fmt.Errorf("%s:%d: %w", filepath.Base(path), line, uerr)
			}
			o := op{Kind: raw.Kind, Coll: raw.Coll, Run: raw.Run}
			if raw.Doc != nil {
				o.Doc = raw.Doc
			}
			if raw.Set != nil {
				o.Set = raw.Set
			}
			if raw.ID.Type != 0 {
				o.ID = raw.ID
			}
			ops = append(ops, o)
		}
		if err == io.EOF {
			return ops, nil
		}
		if err != nil {
			return nil, err
		}
	}
	return ops, nil
}
