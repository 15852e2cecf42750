// Package tracker is git-runs as a library: the one application layer
// that the command line, the HTTP server and any Go program call. A
// Tracker opens a repository's runs and answers every question about
// them, with crash recovery and the view of runs being recorded on this
// machine done once, here: list and query runs, resolve a RUN argument,
// read a run's record, histories, output and artifacts, start runs or
// attach to live ones, tag, delete, compare, push and fetch.
//
// A Tracker works on a Store, declared below with the contract of each
// method. gitstore.Repo is the store of a git repository; memstore.Store
// keeps runs in memory. Both pass the conformance suite in run/storetest.
// Optional abilities (sync with remotes, work trees, code, experiments)
// are found on the store by type assertion, so that a store offers what
// it can.
package tracker

import (
	"context"
	"io"
	"sync/atomic"

	"github.com/gitruns/gitruns/diff"
	"github.com/gitruns/gitruns/run"
	"github.com/gitruns/gitruns/run/live"
)

// Reader reads runs. Its methods are safe for concurrent use.
type Reader interface {
	// List returns every run, newest first (ids descending). A run whose
	// record cannot be read is listed with Err set; an error means the
	// listing itself failed. ctx cancels a listing that reads many
	// records.
	List(ctx context.Context) ([]run.Entry, error)
	// Load returns run id's commit and record, or an error wrapping
	// run.ErrNotFound.
	Load(ctx context.Context, id string) (run.Entry, error)
	// RecordAt returns the record stored in run commit c, such as one
	// that Earlier names, or an error wrapping run.ErrNotFound when there
	// is no such commit.
	RecordAt(ctx context.Context, c string) (*run.Record, error)
	// History returns the metric histories stored in run commit c, or an
	// error wrapping run.ErrNotFound when there is no such commit.
	History(ctx context.Context, c string) (run.History, error)
	// Output returns the output log stored in run commit c; nil when the
	// run kept none.
	Output(ctx context.Context, c string) ([]byte, error)
	// Artifacts lists the files stored with run commit c.
	Artifacts(ctx context.Context, c string) ([]run.ArtifactInfo, error)
	// OpenArtifact opens the file at path below artifacts/ of run commit
	// c. A path that could leave artifacts/ is an error; a file that is
	// not there wraps run.ErrNotFound.
	OpenArtifact(ctx context.Context, c, path string) (io.ReadCloser, error)
	// Earlier returns the run commit that run commit c was written on
	// top of by Extend, "" when c extends none (the run as it ended, a
	// checkpoint), or an error wrapping run.ErrNotFound when there is no
	// commit c. A commit Amend wrote extends what the amended one did.
	Earlier(ctx context.Context, c string) (string, error)
}

// Editor changes runs that have ended.
type Editor interface {
	// Amend rewrites run id's record with edit, keeping its histories,
	// output and artifacts. When another writer moves the run between the
	// read and the write, it reads again and calls edit again. It fails
	// with run.ErrLive when the record says the run is running (a live
	// run changes only through its journal), run.ErrNotFound, or edit's
	// error, changing nothing.
	Amend(id string, edit func(*run.Record) error) error
	// Extend writes a new commit of run id, which has ended, on top of
	// the one it is at, and returns it. edit is given the run's record,
	// histories and artifacts as that commit holds them (no output) and
	// changes them in place; the new commit keeps the run's output and
	// its source, and Earlier names the commit it extends, which stays
	// readable (in git, as the new commit's last parent), so that what
	// was added after the end, and when, is kept. When another writer
	// moves the run between the read and the write, it reads again and
	// calls edit again: of concurrent Extends, every one's additions are
	// kept. It fails with run.ErrLive when the record says the run is
	// running, run.ErrNotFound, edit's error, or an error when the edit
	// changed the run's id or left it running, changing nothing.
	Extend(ctx context.Context, id string, edit func(*run.Contents) error) (string, error)
}

// Marks remember which runs came from a remote and have not been looked
// at here yet. Their cost follows what is asked: one run's marks cost
// about the same with a million marks as with ten.
type Marks interface {
	// MarksOf returns the marks of run id: the remote it was fetched from
	// while nobody here has looked at it ("" once someone has, or if it
	// was never fetched), and the remote it came from ("" if never
	// fetched), which MarkSeen leaves, as a run does not stop being
	// someone else's once looked at.
	MarksOf(id string) (fetchedFrom, cameFrom string)
	// AllMarks returns MarksOf as of the call, for a listing or a view
	// that asks about many runs: it costs little to make, reads only what
	// the runs asked about need, and is fastest when asked in order of id
	// (either way round).
	AllMarks() func(id string) (fetchedFrom, cameFrom string)
	// MarkFetched marks runs as fetched from remote.
	MarkFetched(remote string, ids []string) error
	// MarkSeen clears the fetched marks of runs. Of concurrent calls,
	// every one's clears stay.
	MarkSeen(ids ...string) error
}

// Store is what a Tracker needs of where runs are kept.
type Store interface {
	live.Store
	Reader
	Editor
	Marks
	// LiveDir is the directory, on this machine, where runs being
	// recorded keep their journals and output files: every process that
	// logs into a run of this store appends to its journal there.
	LiveDir() string
}

// Syncer moves runs between a store and its remotes. gitstore.Repo is one,
// through the user's own git.
type Syncer interface {
	// Push sends the runs named by ids (all of them for nil) to remote,
	// with the code they ran, the tombstones of those deleted here, and
	// the experiments, if the store keeps any (their results are the
	// report's Experiments, stale as runs are).
	// A run the remote has is replaced only if it is what was last
	// fetched from there: otherwise it comes back rejected with a reason
	// for which Stale is true. Runs already there as they are here are
	// results "up to date". Rejections are results; an error
	// means the push could not happen at all.
	Push(ctx context.Context, remote string, ids []string, progress io.Writer) (*run.PushReport, error)
	// Stale tells whether a push was rejected, for the reason given, because
	// the remote holds an edit not yet fetched and merged here.
	Stale(reason string) bool
	// Fetch brings remote's runs and tombstones (and experiments, if the
	// store keeps any), and merges them here as Merge does.
	Fetch(ctx context.Context, remote string, progress io.Writer) (*run.FetchResult, error)
	// Merge brings what was last fetched from remote into the runs here,
	// by the rules of package merge (docs/FORMAT.md), looking only at what
	// changed since its last merge from remote.
	Merge(ctx context.Context, remote string) (*run.FetchResult, error)
	// Unmerged lists the remotes fetched from (by git itself, too) since
	// their last merge. It must be cheap when there are none.
	Unmerged() []string
	// RemoteRuns and LocalRuns list the runs there and here: the commit
	// of each, by id.
	RemoteRuns(ctx context.Context, remote string) (map[string]string, error)
	LocalRuns(ctx context.Context) (map[string]string, error)
	// SetupRemote makes the store's own fetches from remote bring runs,
	// and reports whether it changed anything.
	SetupRemote(ctx context.Context, remote string) (bool, error)
	// DefaultRemote is the remote to use when none is named.
	DefaultRemote() string
}

// ScanMarks remembers the run commits that ScanSecrets found nothing in,
// or that were pushed with secrets allowed, so that a push scans each
// commit once: a commit never changes.
type ScanMarks interface {
	// Scanned returns a lookup of the commits marked, as of the call; it
	// is not safe for concurrent use.
	Scanned() func(commit string) bool
	// MarkScanned marks commits.
	MarkScanned(commits []string) error
}

// Worktrees puts the code of runs back into work trees.
type Worktrees interface {
	// CheckoutSource puts src into the work tree (HEAD at its commit, its
	// uncommitted changes restored), or with branch creates that branch
	// at it. Uncommitted changes make it refuse unless force.
	CheckoutSource(ctx context.Context, src run.Source, branch string, force bool) error
	// SourceWorktree creates a temporary work tree at dir holding src, and
	// returns the function that removes it.
	SourceWorktree(ctx context.Context, src run.Source, dir string) (remove func() error, err error)
	// LinkIgnored links the files the work tree holds but its version
	// control ignores (data, checkpoints, virtualenvs) into the worktree
	// at dir, where its source does not take their place, and returns
	// what it linked (slash form, relative to the top). The links never
	// enter a snapshot taken there.
	LinkIgnored(ctx context.Context, dir string) ([]string, error)
	// EnterSource checks src out into the work tree itself, refusing
	// when that would overwrite anything there, and returns leave, which
	// puts the work tree back as it was. If the process dies before
	// leave, LeaveSource does the same from what EnterSource wrote down
	// first.
	EnterSource(ctx context.Context, src run.Source) (leave func() error, err error)
	// LeaveSource returns the work tree from a source EnterSource checked
	// out; an error when there is none.
	LeaveSource(ctx context.Context) error
	// RelDir returns dir relative to the top of the work tree, in slash
	// form; "" for the top or a directory outside it.
	RelDir(dir string) string
	// Top is the top of the work tree; "" when there is none.
	Top() string
}

// Options tune a Tracker.
type Options struct {
	// Warn receives problems that do not stop a command, such as a run
	// that cannot be read or a crashed run that could not be recovered.
	// Nil drops them.
	Warn func(error)
}

// Tracker is the runs of one store. Its methods may be called from
// several goroutines.
type Tracker struct {
	store    Store
	recorder live.Recorder
	warn     func(error)
	hosted   atomic.Pointer[Hosted] // the runs this process hosts, if it does
	hist     histCache
	recent   recent
}

// New returns the Tracker of store s.
func New(s Store, o Options) *Tracker {
	warn := o.Warn
	if warn == nil {
		warn = func(error) {}
	}
	return &Tracker{store: s, recorder: live.Recorder{Store: s, Dir: s.LiveDir()}, warn: warn}
}

// Store returns the store the tracker works on.
func (t *Tracker) Store() Store { return t.store }

// Recorder returns the recorder that records runs into the store, for
// callers that drive live runs themselves.
func (t *Tracker) Recorder() live.Recorder { return t.recorder }

// syncer returns the store as a Syncer, or an error saying it is not one.
func (t *Tracker) syncer() (Syncer, error) {
	s, ok := t.store.(Syncer)
	if !ok {
		return nil, errNoAbility("remotes")
	}
	return s, nil
}

func (t *Tracker) worktrees() (Worktrees, error) {
	w, ok := t.store.(Worktrees)
	if !ok {
		return nil, errNoAbility("work trees")
	}
	return w, nil
}

func (t *Tracker) code() (diff.Code, bool) {
	c, ok := t.store.(diff.Code)
	return c, ok
}

type errNoAbility string

func (e errNoAbility) Error() string { return "this store has no " + string(e) }
