package importer

import (
	"context"
	"time"

	"github.com/gitruns/gitruns/run"
)

// A Source is a tracker whose runs can be imported: MLflow's file store
// and its SQLite store (package run/importer/mlflow), and any other that
// can list its runs and read one whole (an MLflow server through its REST
// API, W&B's offline runs). Its methods need not be safe for concurrent
// use but for Load, which Import calls from several goroutines.
type Source interface {
	// Runs lists every run the source holds, deleted ones too, cheaply:
	// without their params, tags or histories. A run or experiment that
	// could not be listed is a Problem, and the rest is listed; an error
	// means the source could not be read at all.
	Runs(ctx context.Context) ([]Ref, []Problem, error)
	// Load reads the run ref names whole. Parts that could not be read
	// (a metric file with a bad line) are the run's Problems, and the
	// rest is there; an error means the run cannot be imported, and says
	// where and why.
	Load(ctx context.Context, ref Ref) (*Run, error)
	// IDTag names the tag that keeps the source's id of each imported
	// run in its record (mlflowtags.RunID for MLflow's stores), by
	// which a later import knows the run. Sources of two kinds name two
	// tags, so that their runs never match each other's.
	IDTag() string
}

// Removals is what Import needs of a store beyond tracker.Store: which
// runs were removed from it for good, so that a run removed after its
// import is not imported again. gitstore.Repo and memstore.Store are
// Removals, checked by run/storetest.
type Removals interface {
	// Removed returns the ids of the runs removed for good (Delete)
	// from the store, each once, in no order: here, and, in a store that
	// syncs, in the clones whose removals it fetched (gitstore's
	// tombstones). An id it returns is returned by every later call;
	// a run put aside (run.DeletedTag) is not removed.
	Removed() ([]string, error)
}

// A Releaser is a Source that holds something of each run it loaded
// (files downloaded for its artifacts) until the import is done with it:
// Import calls Release once per run Load returned, after writing it.
type Releaser interface {
	Release(r *Run)
}

// Ref is a run as a Source lists it.
type Ref struct {
	// ID is the source's id of the run (MLflow's run id): it is kept in
	// the imported record (tag Source.IDTag), by which a later import
	// knows the run.
	ID string
	// Experiment is the name of the run's experiment; ExperimentID the
	// source's id of it.
	Experiment, ExperimentID string
	Name                     string
	// Parent is the source's id of the run this one is nested in, ""
	// when none.
	Parent string
	Status run.Status
	// Deleted tells the source put the run aside (MLflow's lifecycle
	// stage "deleted"), or its experiment.
	Deleted bool
	Start   time.Time
	// Where says where the run is, for messages: its directory, or a
	// URL.
	Where string
}

// Run is a run as a Source holds it: its Ref, and everything it logged,
// as the source's text.
type Run struct {
	Ref
	End  time.Time // zero when the source has no end time
	User string    // who ran it, "" if unknown
	// DeletedAt is when it was deleted, when Deleted and known.
	DeletedAt time.Time
	// ArtifactURI is where the source keeps the run's artifacts.
	ArtifactURI string
	Params      map[string]string // as logged: typed on import
	Tags        map[string]string // with the source's system tags
	Metrics     map[string][]run.Point
	Artifacts   []Artifact
	// Output, when not "", is a local regular file holding what the
	// run printed (W&B's output.log): the imported run's output, kept as
	// git runs exec keeps a command's (docs/FORMAT.md, output.log).
	Output string
	// Problems are the parts of the run that could not be read.
	Problems []Problem
}

// Artifact is a file stored with a run at the source.
type Artifact struct {
	Path string // slash-separated, below the run's artifacts, checked with run.CleanArtifactPath
	Size int64
	// File is a local regular file holding its content, checked not to
	// be reached through a symbolic link.
	File string
}

// Problem is a part of a source that could not be read: a file, a
// table row, a URL.
type Problem struct {
	Where string // a path or URL
	Err   error
	// Experiment is the source's id of the experiment the part belongs
	// to, when known: an import of other experiments leaves it out.
	Experiment string
}

func (p Problem) Error() string { return p.Where + ": " + p.Err.Error() }

// An ExperimentLister is a Source that can list its experiments, with
// their tags: Import creates those the repository does not have yet, so
// that their tags come along. A Source without experiments of their own
// (W&B's projects are names only) need not be one.
type ExperimentLister interface {
	Experiments(ctx context.Context) ([]Experiment, error)
}

// Experiment is an experiment as a Source holds it.
type Experiment struct {
	ID, Name string
	Tags     map[string]string
	Deleted  bool
}
