package store

import (
	"os"

	"evalrec.dev/journal"
)

// SetJournalDisk makes new journals write through wrap, for tests of a
// disk that fills up; it returns a function that restores the real one.
func SetJournalDisk(wrap func(*os.File) journal.File) (restore func()) {
	old := openJournalFile
	openJournalFile = func(path string) (journal.File, error) {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			return nil, err
		}
		return wrap(f), nil
	}
	return func() { openJournalFile = old }
}
