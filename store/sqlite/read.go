package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	json "github.com/goccy/go-json"

	"evalrec.dev/model"
	"evalrec.dev/store"
)

func runWhere(ctx context.Context, q querier, where string, arg any) (*model.EvaluationRun, error) {
	var doc, deps []byte
	var host sql.NullString
	err := q.QueryRowContext(ctx, `SELECT doc, hostname, dependencies FROM evaluation_runs WHERE `+where, arg).Scan(&doc, &host, &deps)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, describe(err)
	}
	return decodeRun(doc, host, deps)
}

// decodeRun reads a run from its row: its document, hostname and, unless
// empty, dependency list.
func decodeRun(doc []byte, host sql.NullString, deps []byte) (*model.EvaluationRun, error) {
	var r model.EvaluationRun
	if err := json.Unmarshal(doc, &r); err != nil {
		return nil, fmt.Errorf("reading a run: %w", err)
	}
	r.System.Hostname = host.String
	if len(deps) > 0 {
		if err := json.Unmarshal(deps, &r.System.Dependencies); err != nil {
			return nil, fmt.Errorf("reading the dependencies of run %s: %w", r.EvaluationRunID, err)
		}
	}
	return &r, nil
}

// where builds a WHERE clause from conditions, each with its arguments.
type where struct {
	conds []string
	args  []any
}

func (w *where) add(cond string, args ...any) {
	w.conds = append(w.conds, cond)
	w.args = append(w.args, args...)
}

// clone is a copy of w that adds conditions of its own: a plain copy
// would share (and overwrite) the spare capacity of w's slices.
func (w where) clone() where {
	return where{conds: slices.Clip(w.conds), args: slices.Clip(w.args)}
}

func (w *where) String() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}

// Runs implements [store.Driver].
func (s *Store) Runs(ctx context.Context, f store.RunFilter) ([]model.EvaluationRun, error) {
	var w where
	if !f.ID.IsZero() {
		w.add(`id = ?`, f.ID.Hex())
	}
	if f.Name != "" {
		w.add(`evaluation_run_id = ?`, f.Name)
	}
	for _, tag := range f.Tags {
		w.add(`EXISTS (SELECT 1 FROM run_tags t WHERE t.tag = ? AND t.run = r.id)`, tag)
	}
	for _, kv := range []struct {
		col, v string
	}{{"environment", f.Environment}, {"git_branch", f.Branch}, {"status", f.Status}, {"system_info_hash", f.SystemInfoHash}} {
		if kv.v != "" {
			w.add(kv.col+` = ?`, kv.v)
		}
	}
	if !f.Since.IsZero() {
		w.add(`started_at >= ?`, ms(f.Since))
	}
	if !f.Until.IsZero() {
		w.add(`started_at < ?`, ms(f.Until))
	}
	if len(f.Except) > 0 {
		in, args := inList(f.Except)
		w.add(`id NOT IN `+in, args...)
	}
	if q := f.Like; q != nil {
		w.add(`project IS ?`, orNull(q.Project))
		w.add(`environment = ?`, q.Environment)
		w.add(`system_info_hash = ?`, q.SystemInfoHash)
		w.add(`git_branch IS ?`, q.Branch)
		w.add(`status != ?`, model.StatusRunning)
		w.add(`started_at <= ?`, ms(q.Before))
		if len(q.Packages) > 0 {
			args := make([]any, len(q.Packages))
			for i, p := range q.Packages {
				args[i] = p
			}
			w.add(`EXISTS (SELECT 1 FROM run_packages p WHERE p.run = r.id AND p.package IN `+placeholders(len(args))+`)`, args...)
		}
	}
	cols := `doc, hostname, NULL AS dependencies`
	if f.Whole {
		cols = `doc, hostname, dependencies`
	}
	const order = ` ORDER BY started_at DESC, id DESC`
	limit := ""
	if f.Limit > 0 {
		limit = fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	if f.Project == "" {
		return s.runs(ctx, `SELECT `+cols+` FROM evaluation_runs r`+w.String()+order+limit, w.args...)
	}
	// The project's runs, and those of no project: each read in the order
	// of its index, and merged. (One query with an OR would sort every run
	// of the project.)
	mine, none := w.clone(), w.clone()
	mine.add(`project = ?`, f.Project)
	none.add(`project IS NULL`)
	cols += `, started_at, id`
	q := `SELECT ` + cols + ` FROM (SELECT ` + cols + ` FROM evaluation_runs r` + mine.String() + order + limit + `)
		UNION ALL SELECT ` + cols + ` FROM (SELECT ` + cols + ` FROM evaluation_runs r` + none.String() + order + limit + `)` + order + limit
	return s.runs(ctx, `SELECT doc, hostname, dependencies FROM (`+q+`)`, append(mine.args, none.args...)...)
}

// runs reads the runs q selects: their doc, hostname and dependencies
// (NULL for none).
func (s *Store) runs(ctx context.Context, q string, args ...any) ([]model.EvaluationRun, error) {
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, describe(err)
	}
	defer rows.Close()
	var out []model.EvaluationRun
	for rows.Next() {
		var doc, deps []byte
		var host sql.NullString
		if err := rows.Scan(&doc, &host, &deps); err != nil {
			return nil, describe(err)
		}
		r, err := decodeRun(doc, host, deps)
		if err != nil {
			return nil, err
		}
		out = append(out, *r)
	}
	return out, describe(rows.Err())
}

func parts(ctx context.Context, q querier, run model.ID) ([]store.Part, error) {
	rows, err := q.QueryContext(ctx, `SELECT doc FROM evaluation_run_parts WHERE run = ? ORDER BY id`, run.Hex())
	if err != nil {
		return nil, describe(err)
	}
	defer rows.Close()
	var out []store.Part
	for rows.Next() {
		var doc []byte
		if err := rows.Scan(&doc); err != nil {
			return nil, describe(err)
		}
		var p store.Part
		if err := json.Unmarshal(doc, &p); err != nil {
			return nil, fmt.Errorf("reading a part: %w", err)
		}
		out = append(out, p)
	}
	return out, describe(rows.Err())
}

func (s *Store) tests(ctx context.Context, out []model.TestRun, q string, args ...any) ([]model.TestRun, error) {
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, describe(err)
	}
	defer rows.Close()
	var sc testRunScanner
	for rows.Next() {
		t, err := sc.scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, describe(rows.Err())
}

// TestHistory implements [store.Driver]: newest first by its run's start,
// then by finished_at and _id. It walks the runs, newest first, and looks
// the test up in each (test runs are keyed by run and test), so it reads
// as many runs as it takes to fill the limit, and every run when the test
// is rare or the limit is none.
func (s *Store) TestHistory(ctx context.Context, testID string, f store.HistoryFilter) ([]model.TestRun, error) {
	var w where
	if f.Project != "" {
		w.add(`(t.project = ? OR t.project IS NULL)`, f.Project)
	}
	if f.Environment != "" {
		w.add(`t.environment = ?`, f.Environment)
	}
	if f.Branch != "" {
		w.add(`t.git_branch = ?`, f.Branch)
	}
	if !f.Since.IsZero() {
		w.add(`t.finished_at >= ?`, ms(f.Since))
	}
	// CROSS JOIN keeps the runs outside, read in order through their
	// index, so that the limit ends the walk.
	q := `SELECT ` + testRunColumns + ` FROM evaluation_runs r CROSS JOIN test_runs t ON t.run = r.id AND t.test_id = ?` + w.String() +
		` ORDER BY r.started_at DESC, r.id DESC, t.finished_at DESC, t.id DESC`
	if f.Limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	return s.tests(ctx, nil, q, append([]any{testID}, w.args...)...)
}

// TestOutput implements [store.Driver]. A test run without output has no
// row in test_outputs; whether it exists is asked of test_runs, whose key
// begins with the run, found through the run's name, which begins the
// test run's ID, and then the test, whose ID follows it (result.RunID).
// An ID of another shape is looked for among all the run's test runs.
func (s *Store) TestOutput(ctx context.Context, testRunID string) (string, error) {
	var out string
	err := s.db.QueryRowContext(ctx, `SELECT output FROM test_outputs WHERE id = ?`, testRunID).Scan(&out)
	if !errors.Is(err, sql.ErrNoRows) {
		return out, describe(err)
	}
	exists := func(q string, args ...any) (bool, error) {
		var found int
		err := s.db.QueryRowContext(ctx, `SELECT 1 FROM evaluation_runs r JOIN test_runs t ON t.run = r.id WHERE `+q, args...).Scan(&found)
		if errors.Is(err, sql.ErrNoRows) {
			return false, nil
		}
		return err == nil, describe(err)
	}
	for i := range len(testRunID) {
		if testRunID[i] != '/' {
			continue
		}
		name, testID := testRunID[:i], testRunID[i+1:]
		if h := strings.LastIndexByte(testID, '#'); h >= 0 {
			testID = testID[:h]
		}
		found, err := exists(`r.evaluation_run_id = ? AND t.test_id = ? AND t.id = ?`, name, testID, testRunID)
		if !found && err == nil {
			found, err = exists(`r.evaluation_run_id = ? AND t.id = ?`, name, testRunID)
		}
		if found || err != nil {
			return "", err
		}
	}
	return "", store.ErrNotFound
}

// tables maps the collections to their tables (the same names).
var tables = map[string]bool{store.RunsCollection: true, store.PartsCollection: true, store.TestsCollection: true}

// Each implements [store.Driver].
func (s *Store) Each(ctx context.Context, sc store.Scan) error {
	where, args := "", []any(nil)
	if sc.Runs != nil {
		if sc.Run != nil {
			return errors.New("runs are not selected by run")
		}
		// One parameter, however many runs: a JSON array of their IDs.
		ids := make([]string, len(sc.Runs))
		for i, id := range sc.Runs {
			ids[i] = id.Hex()
		}
		list, err := json.Marshal(ids)
		if err != nil {
			return err
		}
		where, args = ` WHERE run IN (SELECT value FROM json_each(?))`, []any{string(list)}
	}
	switch {
	case sc.TestRun != nil:
		return s.eachTestRun(ctx, strings.Replace(where, "run", "t.run", 1), args, sc.TestRun)
	case sc.Part != nil:
		return each(ctx, s.db, `SELECT doc, NULL, NULL FROM evaluation_run_parts`+where+` ORDER BY id`, args, func(doc, _, _ []byte) error {
			var p store.Part
			if err := json.Unmarshal(doc, &p); err != nil {
				return err
			}
			return sc.Part(&p)
		})
	case sc.Run != nil:
		return each(ctx, s.db, `SELECT doc, hostname, dependencies FROM evaluation_runs ORDER BY id`, nil, func(doc, hostname, deps []byte) error {
			r, err := decodeRun(doc, sql.NullString{String: string(hostname)}, deps)
			if err != nil {
				return err
			}
			return sc.Run(r)
		})
	}
	return errors.New("a scan of no collection")
}

// each calls fn with the three columns of each row q selects.
func each(ctx context.Context, db *sql.DB, q string, args []any, fn func(a, b, c []byte) error) error {
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return describe(err)
	}
	defer rows.Close()
	for rows.Next() {
		var a, b, c []byte
		if err := rows.Scan(&a, &b, &c); err != nil {
			return describe(err)
		}
		if err := fn(a, b, c); err != nil {
			return err
		}
	}
	return describe(rows.Err())
}

// eachTestRun is Each for the test runs, with their output.
func (s *Store) eachTestRun(ctx context.Context, where string, args []any, fn func(*model.TestRun) error) error {
	rows, err := s.db.QueryContext(ctx, `SELECT `+testRunColumns+`, o.output FROM test_runs t LEFT JOIN test_outputs o ON o.id = t.id`+where+` ORDER BY t.id`, args...)
	if err != nil {
		return describe(err)
	}
	defer rows.Close()
	var sc testRunScanner
	for rows.Next() {
		var out sql.NullString
		t, err := sc.scan(rows, &out)
		if err != nil {
			return err
		}
		t.Output = out.String
		if err := fn(&t); err != nil {
			return err
		}
	}
	return describe(rows.Err())
}

// Count implements [store.Driver].
func (s *Store) Count(ctx context.Context, collection string, runs []model.ID) (int64, error) {
	if !tables[collection] {
		return 0, fmt.Errorf("no collection %q", collection)
	}
	q, args := `SELECT count(*) FROM `+collection, []any(nil)
	if runs != nil {
		if collection == store.RunsCollection {
			return 0, fmt.Errorf("runs are not counted by run")
		}
		var in string
		in, args = inList(runs)
		q += ` WHERE run IN ` + in
	}
	var n int64
	err := s.db.QueryRowContext(ctx, q, args...).Scan(&n)
	return n, describe(err)
}
