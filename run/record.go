package run

import "time"

// Format is the number of the record format this package writes, stored as
// the record's format key. Readers refuse records with a higher number.
const Format = 1

// Status is where a run is in its life.
type Status string

// The statuses a run can have. Only Running is not final.
const (
	Running  Status = "running"
	Finished Status = "finished"
	Failed   Status = "failed"
	Killed   Status = "killed"
	Crashed  Status = "crashed"
	// Stale is not written in records: it is how a run whose record says
	// running is shown on a machine that does not record it, once its
	// last commit is several checkpoint intervals old.
	Stale Status = "stale"
)

// Valid reports whether s is one of the known statuses.
func (s Status) Valid() bool {
	switch s {
	case Running, Finished, Failed, Killed, Crashed:
		return true
	}
	return false
}

// Record is everything known about a run except its metric histories and
// artifacts: the content of run.toml.
type Record struct {
	Format     int       // record format number, Format when written by this package
	ID         string    // the run id, as in refs/runs/<id>
	Name       string    // human-friendly name such as "brave-otter-42"
	Experiment string    // "default" unless set
	Status     Status    // see Status
	Started    time.Time // UTC, millisecond precision
	Ended      time.Time // zero while running
	Command    []string  // argv of the command that ran, if any
	ExitCode   *int      // nil unless the command exited
	Signal     string    // name of the signal that ended the command ("SIGTERM"), "" if none
	RerunOf    string    // id of the run this run repeats, "" if none
	// Updated is when this state of the record was written; zero in
	// records written before the field existed. Merges take the newest
	// checkpoint of a live run by it, and other machines tell a stale
	// live run by it.
	Updated time.Time
	// CheckpointInterval is, while the run is running, the longest the
	// recorder means to wait before its next commit (whole seconds); zero
	// otherwise.
	CheckpointInterval time.Duration
	Env                map[string]string // environment variables recorded for reproduction (never secrets), by name
	Source             Source
	Host               Host
	// Params holds typed parameter values by dotted key ("optimizer.lr").
	// Values are int64, float64, bool, string, or []any of those.
	Params map[string]any
	Tags   map[string]string
	// TagTimes holds when each tag was last set or removed, by key: a key
	// here but not in Tags is a tag removed at that time. Tags merge per
	// key by these times (docs/FORMAT.md).
	TagTimes map[string]time.Time
	// Metrics summarises each metric's history by key.
	Metrics map[string]Summary
}

// Source is the code a run ran.
type Source struct {
	Commit   string   // the code commit (HEAD when the run began); "" in a repository without commits
	Branch   string   // the branch HEAD named, "" when detached
	Dirty    bool     // the work tree had uncommitted changes
	Snapshot string   // the commit snapshotting the whole work tree when Dirty
	Skipped  []string // files left out of the snapshot: untracked ones over the size limit, and those whose names say they hold secrets
	Dir      string   // the command's working directory relative to the top of the work tree; "" for the top
}

// Host is the machine a run ran on.
type Host struct {
	Hostname string
	User     string
	OS       string
	Arch     string

	CPU              string // CPU model
	CPUs             int    // logical CPUs
	MemoryMiB        int64  // total memory
	GPUs             []GPU  // in the order the host lists them
	Python           string // Python version when the command ran Python, e.g. "3.11.7"
	PythonExecutable string
	PythonPackages   []string // "name==version", when recorded
}

// GPU is one GPU of the host.
type GPU struct {
	Name      string
	MemoryMiB int64
	Driver    string
}

// Summary condenses one metric's history.
type Summary struct {
	Last  float64 // value of the point with the highest step (the latest logged among equal steps)
	Step  int64   // step of that point
	Min   float64 // smallest value, NaN ignored (NaN when every value is NaN)
	Max   float64 // largest value, NaN ignored
	Count int64   // number of points
	// Time is when the point of Last was logged (Unix milliseconds); zero
	// in records written before it was kept.
	Time int64
}

// Point is one logged value of a metric.
type Point struct {
	Step  int64
	Time  int64 // Unix milliseconds
	Value float64
}

// History holds every point of every metric of a run, by key, in the order
// they were logged.
type History map[string][]Point

// Duration is how long the run ran, up to now when it is still running.
func (r *Record) Duration(now time.Time) time.Duration {
	if r.Ended.IsZero() {
		return now.Sub(r.Started)
	}
	return r.Ended.Sub(r.Started)
}
