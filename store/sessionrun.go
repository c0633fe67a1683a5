package store

// The run a session writes to: created or joined when the session opens,
// finalized when it closes.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"evalrec.dev/internal/logline"
	"evalrec.dev/model"
	"evalrec.dev/result"
)

// open connects and creates or joins the run. It runs first on the
// session's goroutine, before any flush, so the run and the run's ID are
// settled before the first document that repeats them is built (see
// resolve).
func (s *Session) open(ctx context.Context) {
	if s.dry != nil {
		return
	}
	db := s.cfg.DB
	switch {
	case s.cfg.Unavailable != nil:
		s.fail(s.cfg.Unavailable, "")
		return
	case db == nil:
		var err error
		if db, err = Connect(ctx, s.cfg.URI, s.cfg.Database, s.cfg.ConnectTimeout); err != nil {
			s.fail(err, "")
			return
		}
		s.ownsDB = true
	}
	s.db = db
	if err := s.createRun(ctx); err != nil {
		s.fail(err, "")
	}
}

// setRunContext derives the run context from the run. The session's
// goroutine calls it when it joins or renames the run while callers read
// it through Run, so it holds s.mu.
func (s *Session) setRunContext() {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.cfg.Run
	s.rc = RunContext{
		ID: r.ID, EvaluationRunID: r.EvaluationRunID, Environment: r.Environment, Project: r.Project,
		GitCommit: r.GitCommit, GitBranch: r.GitBranch,
	}
}

// createRun inserts the run document, or joins the run another writer of the
// same invocation created. Writers of one invocation compute the same _id;
// when a run of another invocation already has this evaluation_run_id (an
// explicit run ID used twice), this run is stored under the ID lengthened
// with part of its _id, and the session says so.
//
// The unique index that detects such a run is in place from the store's
// first run on: the writer that creates a run ensures the indexes next, in
// the background (see loop), so that no test binary waits for them.
func (s *Session) createRun(ctx context.Context) error {
	asked := s.cfg.Run.EvaluationRunID
	for attempt := 0; attempt < 2; attempt++ {
		cctx, cancel := context.WithTimeout(ctx, s.cfg.WriteTimeout)
		err := s.db.InsertRun(cctx, &s.cfg.Run)
		cancel()
		switch {
		case err == nil:
			s.created = true
			s.runDeps = s.cfg.Run.System.Dependencies
			if s.cfg.Run.EvaluationRunID != asked && !s.cfg.replay {
				s.note(fmt.Sprintf("run ID %s is taken by an earlier run of another invocation; this run is stored as %s", asked, s.cfg.Run.EvaluationRunID))
			}
			return nil
		case errors.Is(err, ErrDuplicateID):
			// Joined: take the creator's ID (it may have been lengthened).
			cctx, cancel := context.WithTimeout(ctx, s.cfg.WriteTimeout)
			existing, err := s.db.one(cctx, RunFilter{ID: s.cfg.Run.ID, Whole: true})
			cancel()
			if err != nil {
				return err
			}
			s.joined(*existing)
			return nil
		case errors.Is(err, ErrDuplicateName):
			// Another run has this evaluation_run_id: lengthen ours.
			s.cfg.Run.EvaluationRunID += "-" + s.cfg.Run.ID.Hex()[8:16]
			s.setRunContext()
		default:
			return err
		}
	}
	return fmt.Errorf("evaluation_run_id %s is taken by another run", s.cfg.Run.EvaluationRunID)
}

// joined adopts the stored run, and says so when it was stored with other
// settings: ingesting a stream again with other tags changes nothing.
func (s *Session) joined(existing model.EvaluationRun) {
	mine := s.cfg.Run
	s.cfg.Run.EvaluationRunID = existing.EvaluationRunID
	s.setRunContext()
	s.runDeps = existing.System.Dependencies
	if s.cfg.replay {
		return
	}
	if mine.Environment != existing.Environment || !slices.Equal(result.MergeSet(nil, mine.ExperimentTags), result.MergeSet(nil, existing.ExperimentTags)) {
		s.note(fmt.Sprintf("run %s was stored before from the same invocation with environment %q and tags %v; it keeps those (this one asked for %q and %v), and results already stored are not changed",
			existing.EvaluationRunID, existing.Environment, existing.ExperimentTags, mine.Environment, mine.ExperimentTags))
	}
}

// note says something once, on the session's logger, and keeps it for
// [Session.Notes].
func (s *Session) note(msg string) {
	s.mu.Lock()
	s.notes = append(s.notes, msg)
	s.mu.Unlock()
	s.log.Warn(msg)
}

// replayRun replays the journals of this run whose writers died.
func (s *Session) replayRun() {
	rep, err := s.db.replay(context.Background(), s.cfg.SpoolDir, s.cfg.WriteTimeout, s.rc.ID.Hex()+".")
	if err != nil {
		s.log.Warn(fmt.Sprintf("recovering results of this run from %s: %v", logline.RelPath(s.cfg.SpoolDir), err))
	}
	if rep.Files > 0 {
		s.log.Info(fmt.Sprintf("recovered %d results of %d test binaries of this run that died (%s)", rep.Tests, rep.Files, strings.Join(rep.Recovered, "; ")))
	}
}

// finalize finalizes the run unless another part of it is still alive, in
// which case that part will. This is safe: every part writes its end before
// it reads the others, so the last part to write its end sees every other
// end and finalizes. Parts whose process is gone (same host) or whose
// heartbeat is stale do not count as alive, so a killed binary never stops
// the others from finalizing. The run returned is then as created.
func (s *Session) finalize() (*model.EvaluationRun, error) {
	ctx := context.Background()
	parts, err := s.db.readParts(ctx, s.rc.ID)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	s.mu.Lock()
	mine := make(map[string]bool, len(s.parts))
	for id := range s.parts {
		mine[id] = true
	}
	s.mu.Unlock()
	for _, p := range parts {
		if !mine[p.ID] && p.Status == model.StatusRunning && !dead(p, now, s.db.onOneMachine()) {
			run := s.cfg.Run
			return &run, nil
		}
	}
	s.flushMu.Lock()
	stored := s.stored
	s.flushMu.Unlock()
	run, totalled, err := s.db.finalize(ctx, s.rc.ID, now, stored)
	s.totalled = totalled
	return run, err
}
