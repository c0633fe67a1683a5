package transfer

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"evalrec.dev/model"
	"evalrec.dev/store/mongo"

	"evalrec.dev/store"
)

// FileName is the file of a collection in an export directory: what
// mongoimport reads with --collection NAME --file FILE.
func FileName(collection string) string { return collection + ".jsonl" }

// Export writes every document of db into dir, one file per collection,
// one document a line as relaxed MongoDB Extended JSON: the shapes
// mongoimport and `evalrec import` read. Each file is written under a
// temporary name and renamed when complete.
func Export(ctx context.Context, db *store.DB, dir string, progress Progress) (map[string]int64, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	counts := map[string]int64{}
	for _, coll := range Collections {
		total, err := db.Count(ctx, coll)
		if err != nil {
			return counts, fmt.Errorf("counting %s: %w", coll, err)
		}
		path := filepath.Join(dir, FileName(coll))
		f, err := os.Create(path + ".tmp")
		if err != nil {
			return counts, err
		}
		w := bufio.NewWriterSize(f, 1<<20)
		var n int64
		err = db.Each(ctx, coll, func(doc any) error {
			b, err := mongo.MarshalExtJSON(doc)
			if err != nil {
				return err
			}
			w.Write(b)
			if err := w.WriteByte('\n'); err != nil {
				return err
			}
			n++
			if progress != nil && (n%batch == 0 || n == total) {
				progress(coll, n, total)
			}
			return nil
		})
		if err == nil {
			err = w.Flush()
		}
		err = errors.Join(err, f.Close())
		if err == nil {
			err = os.Rename(path+".tmp", path)
		}
		if err != nil {
			os.Remove(path + ".tmp")
			return counts, fmt.Errorf("exporting %s: %w", coll, err)
		}
		counts[coll] = n
	}
	return counts, nil
}

// maxLine bounds one document's line: MongoDB's own limit is 16 MiB of BSON.
const maxLine = 64 << 20

// Import stores the documents of an export directory into db. A line that
// cannot be read is reported in Rejected, with its file and line, and the
// rest are stored.
func Import(ctx context.Context, db *store.DB, dir string, progress Progress) (Report, error) {
	rep := newReport()
	var paths []string
	for _, coll := range Collections {
		path := filepath.Join(dir, FileName(coll))
		if _, err := os.Stat(path); err != nil {
			return rep, fmt.Errorf("%s is not an evalrec export: %w", dir, err)
		}
		paths = append(paths, path)
	}
	for i, coll := range Collections {
		total, err := countLines(paths[i])
		if err != nil {
			return rep, err
		}
		var done int64
		w := NewWriter(db, &rep, func(c string, n int64) {
			done += n
			if progress != nil {
				progress(c, done, total)
			}
		})
		if err := importFile(ctx, w, coll, paths[i], &rep); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

func importFile(ctx context.Context, w *Writer, coll, path string, rep *Report) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), maxLine)
	line := 0
	for sc.Scan() {
		line++
		if len(sc.Bytes()) == 0 {
			continue
		}
		var doc any
		switch coll {
		case store.RunsCollection:
			doc = new(model.EvaluationRun)
		case store.PartsCollection:
			doc = new(store.Part)
		default:
			doc = new(model.TestRun)
		}
		if err := mongo.UnmarshalExtJSON(sc.Bytes(), doc); err != nil {
			rep.Rejected = append(rep.Rejected, fmt.Errorf("%s:%d: %w", filepath.Base(path), line, err))
			continue
		}
		if err := w.Add(ctx, doc); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	return w.Flush(ctx)
}

func countLines(path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var n int64
	buf := make([]byte, 1<<20)
	for {
		k, err := f.Read(buf)
		for _, b := range buf[:k] {
			if b == '\n' {
				n++
			}
		}
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}
