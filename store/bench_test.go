package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"evalrec.dev/internal/storetest"
	"evalrec.dev/journal"
	"evalrec.dev/model"
	"evalrec.dev/result"
	"evalrec.dev/store"
)

// BenchmarkAdd is what Add costs its caller (a test's cleanup), with the
// journal written before it returns and without one. The store is written
// in the background either way.
func BenchmarkAdd(b *testing.B) {
	s := storetest.New(b)
	for _, journaled := range []bool{true, false} {
		b.Run(fmt.Sprintf("journal=%v", journaled), func(b *testing.B) {
			spool := ""
			if journaled {
				spool = b.TempDir()
			}
			run := newRun(fmt.Sprint("bench", journaled, time.Now().UnixNano()))
			sess := store.Open(context.Background(), store.SessionConfig{
				DB: s.DB, Run: run, WriteTimeout: 5 * time.Second, FlushInterval: time.Hour, SpoolDir: spool,
			})
			sess.BeginPart("p", "m/p", nil)
			tests := make([]*result.Test, b.N)
			for i := range tests {
				tests[i] = werTest("m/p", fmt.Sprintf("Test%d", i), 0.2, result.Passed)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				sess.Add("p", tests[i])
			}
			b.StopTimer()
			sess.EndPart("p", journal.PartEnd{Status: model.StatusCompleted})
			if _, err := sess.Close(); err != nil {
				b.Fatal(err)
			}
		})
	}
}
