// Package dotdir makes the directories evalrec keeps its files in (the
// embedded store, the spool) so that they never show in git: a .evalrec
// directory gets a .gitignore that ignores everything in it, itself
// included, as pytest and mypy do for their caches. A run is then dirty
// only for changes elsewhere in the tree.
package dotdir

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
)

// Name is the directory evalrec keeps its files in, at a module's root.
const Name = ".evalrec"

// MkdirAll makes dir and its parents, as os.MkdirAll does, and writes the
// .gitignore into the .evalrec directory on dir's path, when there is one
// and it has none.
func MkdirAll(dir string, perm os.FileMode) error {
	if err := os.MkdirAll(dir, perm); err != nil {
		return err
	}
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		if filepath.Base(d) == Name {
			return ignoreAll(d)
		}
		if parent := filepath.Dir(d); parent == d {
			return nil
		}
	}
}

// ignoreAll writes d/.gitignore holding "*", unless one is there.
func ignoreAll(d string) error {
	p := filepath.Join(d, ".gitignore")
	if _, err := os.Stat(p); !errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	err := os.WriteFile(p, []byte("# Written by evalrec: its store and spool are not sources.\n*\n"), 0o644)
	if errors.Is(err, fs.ErrPermission) {
		return nil // a read-only .evalrec still holds what it holds
	}
	return err
}
