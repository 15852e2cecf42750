package live

import (
	"context"
	"path/filepath"

	"github.com/gitruns/gitruns/run"
)

// Store is where the recorder commits runs. gitstore.Repo is the git
// implementation and memstore.Store an in-memory one; run/storetest checks
// both against the contract written here.
type Store interface {
	// CaptureSource describes the code a run starting now runs: the code
	// commit, its branch, and a snapshot of uncommitted changes. It may
	// take a while on a big work tree; ctx cancels it.
	CaptureSource(ctx context.Context) (run.Source, error)
	// StoreFile copies the content of the file at path into the store, as
	// an artifact's content, and returns the id to name it by in
	// run.Artifact.Blob.
	StoreFile(path string) (string, error)
	// Save writes c as the new state of run c.Record.ID and returns the
	// new commit's id, provided that the run is at commit old, "" meaning
	// that the run must not exist yet. It fails with an error wrapping
	// run.ErrConflict when the run is at another commit (or exists, for
	// old ""), or another writer keeps it locked past the store's lock
	// timeout: the caller reads Head and tries again. It fails with
	// run.ErrNotFound when old is set and the run no longer
	// exists: it was deleted, and Save never brings it back. Of several
	// saves from the same old, in any goroutines or processes, exactly one
	// succeeds. The store may call c.Output on another goroutine while
	// Save runs.
	Save(c *run.Contents, old string) (string, error)
	// Head returns the commit run id is at, or an error wrapping
	// run.ErrNotFound when it has none.
	Head(id string) (string, error)
	// Delete removes run id if it is at commit old ("" for any): an
	// error wrapping run.ErrConflict when it is at another, and
	// run.ErrNotFound when it does not exist. A deleted run's later
	// Saves fail with run.ErrNotFound: it never comes back by itself. A
	// recorder deletes a commit it wrote while the run was being deleted.
	Delete(id, old string) error
	// Author names who records a run started now, as the store's commits
	// would name them. The recorder asks once, at the start, and every
	// commit of the run names that person, whichever process writes it.
	Author() run.Person
}

// A Preparer is a Store that can do ahead of time the costly part of
// storing data that will soon be the start of a large file of a run, such
// as the head of an output log once it is full: the run's end, which the
// user waits for, then has less to do.
type Preparer interface {
	// Prepare starts the work for data, which the caller must not change
	// afterwards, and returns at once.
	Prepare(data []byte)
}

// Recorder records runs into Store, keeping the journals of the runs
// being recorded on this machine in Dir. Every process logging into the
// runs of one store must use the same Dir: they meet in its journals.
type Recorder struct {
	Store Store
	Dir   string
}

func (rc Recorder) journalPath(id string) string {
	return filepath.Join(rc.Dir, id+".journal")
}
