package run

import (
	"errors"
	"fmt"
)

// Errors that stores return, wrapped, for callers to test with errors.Is.
// Every store implementation uses these, so that a caller written against
// one store reads another's answers the same way.
var (
	// ErrNotFound means the run, commit or file asked for does not exist,
	// or no longer does: it was deleted.
	ErrNotFound = errors.New("not found")
	// ErrConflict means a compare-and-swap lost: the run is no longer at
	// the commit the caller said it was, because another writer moved it.
	ErrConflict = errors.New("run changed concurrently")
	// ErrLive means the operation needs a run that has ended, and the run
	// is still running: a live run changes only through its journal.
	ErrLive = errors.New("run is still running")
	// ErrExists means a thing with that name or id already exists, such
	// as an experiment of the name asked for.
	ErrExists = errors.New("already exists")
)

// Person is who records a run, as a commit names its author.
type Person struct {
	Name, Email string
}

// Contents is everything a commit of a run holds.
type Contents struct {
	Record    *Record
	History   History
	Artifacts []Artifact
	// Author is who ran the run, as the store said when it started; the
	// zero Person lets the store name whoever commits now.
	Author Person
	// Checkpoint tells that the run goes on: the store should write this
	// commit without taking the machine from the program.
	Checkpoint bool
	// Output, when not nil, returns the command's output as it is kept
	// (see docs/FORMAT.md, output.log). A store may call it on a
	// goroutine of its own, beside writing the rest.
	Output func() ([]byte, error)
}

// Artifact is a file stored with a run, under artifacts/ in its tree.
type Artifact struct {
	Path string // slash-separated path below artifacts/
	Blob string // the store's id of the content
	Exec bool   // the file is executable
}

// ArtifactInfo describes a file stored with a run, for listing.
type ArtifactInfo struct {
	Path string // below artifacts/
	Size int64
}

// Entry is one run as a store lists it: the run commit its ref points
// at, and the record that commit holds.
type Entry struct {
	ID     string  // the run id
	Commit string  // the run commit, 40 hex digits in the git store
	Record *Record // nil when Err is set
	Err    error   // the record could not be read
}

// NotFound returns an error that says what is missing in its own words,
// such as `no run "brave-otter-42"`, and wraps ErrNotFound.
func NotFound(format string, args ...any) error {
	return kindError{fmt.Sprintf(format, args...), ErrNotFound}
}

// Live returns an error that says in its own words why a running run
// cannot be changed so, and wraps ErrLive.
func Live(format string, args ...any) error {
	return kindError{fmt.Sprintf(format, args...), ErrLive}
}

// Conflict returns an error that says in its own words why a write lost
// to another writer, and wraps ErrConflict.
func Conflict(format string, args ...any) error {
	return kindError{fmt.Sprintf(format, args...), ErrConflict}
}

// Exists returns an error that says in its own words what exists
// already, such as `experiment "churn" already exists (id 0)`, and wraps
// ErrExists.
func Exists(format string, args ...any) error {
	return kindError{fmt.Sprintf(format, args...), ErrExists}
}

// kindError is an error with a message of its own that counts as one of
// the sentinel errors.
type kindError struct {
	msg  string
	kind error
}

func (e kindError) Error() string        { return e.msg }
func (e kindError) Is(target error) bool { return target == e.kind }

// PushResult is what became of one run in a push to a remote.
type PushResult struct {
	ID     string // the run
	Status string // "sent", "up to date", "deleted" or "rejected"
	Reason string // why it was rejected, in git's or the remote's words
}

// FetchResult lists what merging the runs fetched from a remote did here.
type FetchResult struct {
	New       []string        // runs that came in, by id
	Updated   []string        // runs here that the merge changed
	Deleted   []string        // runs here deleted because the remote's copy was
	Conflicts []MergeConflict // runs whose copies could not be merged
	Bad       []string        // fetched runs whose record could not be read, each "id: why"
	// Experiments lists the experiments, by id, that the merge created
	// here or changed.
	Experiments []string
}

// MergeConflict is a run of which two final copies differ in more than their
// tags: the one here is kept, and the remote's stays there.
type MergeConflict struct {
	ID  string
	Why string // "their params differ"
}

// PushReport is what a push did.
type PushReport struct {
	Results []PushResult
	// Merged is what the fetches and merges that rejected pushes called
	// for did here; nil when none was needed.
	Merged *FetchResult
	Runs   int   // runs sent or deleted
	Bytes  int64 // the size git sent, as its progress told; 0 when it sent nothing
	// Experiments is what became of each experiment the push sent or
	// found there already, with the experiment's id as ID. They are
	// apart from Results, which are runs only.
	Experiments []PushResult
}

// CodeEntry is one entry of a tree of the code a run ran, as a store
// reads it for comparing code.
type CodeEntry struct {
	Name string
	Mode uint32 // git's: 040000 directory, 0100644 file, 0100755 executable, 0120000 link, 0160000 submodule
	ID   string // the object id, 40 hex digits in the git store
}

// DeletedTag is the tag that marks a run put aside, as MLflow deletes runs:
// listed only when asked for, and restored by removing the tag. Its value
// is the time it was set (RFC 3339). Being a tag, it merges between clones
// as tags do; a run removed for good has a tombstone instead.
const DeletedTag = "gitruns.deleted"

// ParentTag names, in a run's tags, the run it is part of: a trial of a
// sweep names the sweep's run. It is MLflow's tag for nested runs, which
// git runs serve records as a full run id.
const ParentTag = "mlflow.parentRunId"
