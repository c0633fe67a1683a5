package store

// The session's goroutine: it writes what Add and the parts queue, in
// batches, and switches the session to its journal when the store fails.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"evalrec.dev/internal/logline"
	"evalrec.dev/model"
	"evalrec.dev/samples"
)

// flushAt is how many buffered ops start a flush before the timer does.
const flushAt = 100

// flushDelay is the longest a result waits in the buffer while fewer than
// flushAt are buffered. It keeps what is left to write when a test binary
// ends small: on FerretDB each test document costs about 0.15 ms to insert,
// and each InsertMany about 0.8 ms more, so writing every 50 ms rather than
// every 100 results costs little and takes most of the writing off the end
// of the binary.
const flushDelay = 50 * time.Millisecond

// maxQueue bounds the buffered ops. A writer that produces faster than the
// server stores (the converter on a large stream) waits in Add until a flush
// takes the queue, so memory stays bounded: at most about two queues are
// held, one being written and one filling.
const maxQueue = 10000

// resolve builds the documents that depend on the run as stored: test runs
// repeat its ID (which joining may have lengthened), and a part omits
// dependencies the run lists. It runs on the session's goroutine, after
// open, so that Add and BeginPart need not wait for the server; the test
// runs Add was given once the run was open have their documents already.
func (s *Session) resolve(ops []op) {
	rc := s.Run()
	for i := range ops {
		o := &ops[i]
		switch {
		case o.test != nil:
			o.doc, o.test = NewTestRun(rc, o.test), nil
		case o.kind != opInsertTest && s.runDeps != nil && slices.Equal(o.part.Dependencies, s.runDeps):
			o.part.Dependencies = nil
		}
	}
}

func (s *Session) wake() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

func (s *Session) loop(ctx context.Context) {
	defer close(s.done)
	s.open(ctx)
	rc := s.Run()
	s.opened.Store(&rc)
	if s.created && !s.cfg.replay && !s.Spooled() {
		if err := s.db.drv.Indexes(context.Background(), false); err != nil {
			s.log.Warn(fmt.Sprintf("%v; results are stored, but queries may be slow: run `evalrec indexes`", err))
		}
	}
	// Writers to MongoDB beat a heartbeat; on one machine a writer's
	// journal, or else its process, says it lives (see deadReason).
	var beat <-chan time.Time
	if s.db != nil && !s.db.onOneMachine() {
		t := time.NewTicker(s.cfg.FlushInterval)
		defer t.Stop()
		beat = t.C
	}
	delay := time.NewTimer(flushDelay)
	delay.Stop()
	delayed := false
	reaped := false
	for {
		select {
		case <-s.stop:
			return
		case <-s.kick:
		case <-s.soon:
			if !delayed {
				delay.Reset(flushDelay)
				delayed = true
			}
			continue
		case <-delay.C:
			delayed = false
		case <-beat:
			s.heartbeat()
		}
		s.flush()
		if !reaped && s.created && !s.cfg.replay && !s.Spooled() {
			// Runs left "running" by killed binaries of earlier invocations
			// are settled here, off the test goroutine, by the one writer
			// that created this run rather than by every package's.
			reaped = true
			_, _ = s.db.ReapStale(s.reapCtx, time.Now(), 20, s.rc.ID)
		}
	}
}

// heartbeat queues each running part with a fresh heartbeat: how writers
// to MongoDB, on other machines, know that its writer lives.
func (s *Session) heartbeat() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failure != nil || s.dry != nil {
		return
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	for _, p := range s.parts {
		if p.Status == model.StatusRunning {
			// The summary rides along, so a binary killed later still
			// counts what it flushed: it covers exactly the tests queued
			// before this op, which are written before it.
			p.HeartbeatAt = now
			s.queue = append(s.queue, op{kind: opReplacePart, part: new(*p)})
		}
	}
}

// flush writes the queue to the store. Once the store has failed it writes
// nothing: the journal holds every result, and results that are not in it
// are counted as lost.
func (s *Session) flush() {
	s.flushMu.Lock()
	defer s.flushMu.Unlock()
	s.mu.Lock()
	ops := s.queue
	s.queue, s.spare = s.spare, nil
	s.waiting = false
	failed := s.failure != nil
	s.drained.Broadcast()
	s.mu.Unlock()
	if len(ops) == 0 {
		return
	}
	defer func() {
		clear(ops)
		s.mu.Lock()
		s.spare = ops[:0]
		s.mu.Unlock()
	}()
	if s.dry != nil {
		s.resolve(ops)
		s.dry.testRuns(ops)
		return
	}
	if failed {
		s.drop(ops)
		return
	}
	s.resolve(ops)
	kept := func() {}
	var st WriteStats
	done, err := s.db.apply(context.Background(), s.cfg.WriteTimeout, ops, &st, func() { kept = s.keepStored(ops) })
	kept()
	if err != nil || len(st.Rejected) > 0 || st.Duplicates > 0 {
		s.stored, s.storedBroken = nil, true
	}
	if len(st.Rejected) > 0 {
		s.log.Warn(fmt.Sprintf("the store rejected %d writes: %v", len(st.Rejected), st.Rejected[0]))
		s.mu.Lock()
		s.recordFailure(errors.Join(st.Rejected...))
		s.mu.Unlock()
	}
	if err != nil {
		s.fail(err, "mid-run")
		s.drop(ops[done:])
	}
}

// keepStored adds the results of the test runs ops store to s.stored, on
// a goroutine of its own while the store writes them (apply has masked
// them: their documents no longer change), and returns a function that
// waits for it. The caller drops them all when a write was
// refused, failed or stored already (so that they hold each test run
// once, see [Finalizing.Stored]). Only the embedded store's finalizing
// takes them (MongoDB's reads its runs' rows on the server), so a test
// binary writing to MongoDB holds none.
func (s *Session) keepStored(ops []op) (wait func()) {
	if !s.db.onOneMachine() || s.storedBroken {
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.addStored(ops)
	}()
	return func() { <-done }
}

func (s *Session) addStored(ops []op) {
	for i := range ops {
		if ops[i].kind != opInsertTest {
			continue
		}
		if s.stored == nil {
			s.stored = &samples.Results{KeepIDs: true}
			s.stored.Reset(ops[i].doc.EvaluationRunID)
		}
		s.stored.Add(&ops[i].doc)
	}
}

// drop gives up sending ops to the store: those not in the journal are
// lost.
func (s *Session) drop(ops []op) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, o := range ops {
		if o.kind == opInsertTest && !o.journaled {
			s.lost++
		}
	}
}

// fail records a storage failure and switches the session to its journal,
// saying so once. Without a journal, Close says what was lost.
func (s *Session) fail(cause error, when string) {
	s.mu.Lock()
	if s.failure != nil {
		s.mu.Unlock()
		return
	}
	s.recordFailure(cause)
	s.mu.Unlock()
	if s.jn == nil || s.jn.Failed() != nil {
		return
	}
	what := cause.Error()
	if when != "" {
		what = fmt.Sprintf("storing failed %s: %v", when, cause)
	}
	s.log.Warn(fmt.Sprintf("%s: results spooled to %s; %s", what, logline.RelPath(s.cfg.SpoolDir), ReplayAdvice(cause)))
}

func (s *Session) recordFailure(err error) {
	if s.failure == nil {
		s.failure = err
	}
}
