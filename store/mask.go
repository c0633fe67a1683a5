package store

import (
	"context"

	"evalrec.dev/internal/redact"
	"evalrec.dev/model"
)

// Every document a writer stores passes through these methods of DB,
// whatever built it (a flag, the environment, git, a test's output, a
// journal written by an older version): this is the one place where its
// text is masked (see internal/redact), so that what the store keeps,
// and so every command, page, report, export and webhook that reads it
// back, holds no secret. The documents are masked in place, so the
// caller's copy is the one stored.

// InsertRun masks r and stores it: ErrDuplicateID when a run with its
// _id is stored, ErrDuplicateName when another run has its
// evaluation_run_id.
func (d *DB) InsertRun(ctx context.Context, r *model.EvaluationRun) error {
	_, _, err := d.Write(ctx, []Write{{Run: r}})
	return err
}

// InsertTestRuns masks trs and stores them.
func (d *DB) InsertTestRuns(ctx context.Context, trs []model.TestRun) (WriteStats, error) {
	ws := make([]Write, len(trs))
	for i := range trs {
		ws[i].TestRun = &trs[i]
	}
	_, st, err := d.Write(ctx, ws)
	return st, err
}

// InsertParts masks ps and stores them.
func (d *DB) InsertParts(ctx context.Context, ps []Part) (WriteStats, error) {
	ws := make([]Write, len(ps))
	for i := range ps {
		ws[i].Part = &ps[i]
	}
	_, st, err := d.Write(ctx, ws)
	return st, err
}

// ReplacePart masks p and writes it over the stored part with its _id.
func (d *DB) ReplacePart(ctx context.Context, p *Part) error {
	_, _, err := d.Write(ctx, []Write{{Part: p, Replace: true}})
	return err
}

// Write masks the documents of ws and applies them in order: a writer's
// batch, as a session applies it (see [Driver.Write] for what it returns).
func (d *DB) Write(ctx context.Context, ws []Write) (done int, st WriteStats, err error) {
	mask(ws)
	return d.drv.Write(ctx, ws)
}

// mask masks the documents of ws.
func mask(ws []Write) {
	var env, branch memo // a batch repeats its run's environment and branch
	for _, w := range ws {
		switch {
		case w.Run != nil:
			maskRun(w.Run)
		case w.TestRun != nil:
			maskTestRun(w.TestRun, &env, &branch)
		default:
			maskPart(w.Part)
		}
	}
}

func maskRun(r *model.EvaluationRun) {
	r.GitBranch = maskPtr(r.GitBranch)
	r.Environment = redact.Text(r.Environment)
	r.ExperimentTags = redact.Each(r.ExperimentTags)
	r.Repository = redact.Text(r.Repository)
	r.Error = redact.Text(r.Error)
	if r.System.SystemUnderTest != nil {
		r.System.SystemUnderTest, _ = redact.Value(r.System.SystemUnderTest).(map[string]any)
	}
}

// memo remembers the last text masked, and what it became.
type memo struct{ in, out string }

func (m *memo) text(s string) string {
	if s != m.in {
		m.in, m.out = s, redact.Text(s)
	}
	return m.out
}

func maskTestRun(t *model.TestRun, env, branch *memo) {
	if t.GitBranch != nil {
		b := branch.text(*t.GitBranch)
		t.GitBranch = &b
	}
	t.Environment = env.text(t.Environment)
	t.Tags = redact.Each(t.Tags)
	t.Participants = redact.Each(t.Participants)
	t.Attributes = redact.Attributes(t.Attributes)
	t.Output = redact.Text(t.Output)
}

func maskPart(p *Part) {
	p.Error = redact.Text(p.Error)
	if p.System != nil && p.System.SystemUnderTest != nil {
		p.System.SystemUnderTest, _ = redact.Value(p.System.SystemUnderTest).(map[string]any)
	}
}

func maskPtr(s *string) *string {
	if s == nil {
		return nil
	}
	m := redact.Text(*s)
	return &m
}
