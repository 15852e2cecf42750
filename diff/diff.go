// Package diff tells what differs between two runs: their params, metrics,
// tags and a few attributes of the record, and the code they ran, down to
// unified diffs of single files.
//
// A run's code is the exact tree it ran: the snapshot commit when the work
// tree was dirty, else the code commit (see docs/FORMAT.md). The package
// reads it through Code, which any store can implement (gitstore.Repo
// does). Trees are compared by walking both and skipping every subtree
// whose id is the same on both sides, unread, so the cost follows the
// size of the difference, not of the repository.
package diff

import (
	"cmp"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/gitruns/gitruns/run"
)

// Code reads the code runs ran: the trees of commits and the content of
// files. gitstore.Repo implements it.
//
// Objects are named by ids, which in the git store are git's object ids
// (40 hex digits). An id names content: two entries with the same id hold
// the same tree or file, which is what lets the diff skip them without
// reading them. Every method is safe for concurrent use by several
// goroutines: the diff reads files from several at once.
//
// An error wrapping run.ErrNotFound means that the object asked for does
// not exist in the store, or is not of the kind asked for (a tree's id
// given to CodeBlob). An id that is not valid for the store at all (not
// 40 hex digits in the git store) is an error that does not wrap
// run.ErrNotFound: it is the caller's mistake, never looked up. Any other
// error is a failure to read. Errors name the object they are about; the
// diff adds the path where it met them.
type Code interface {
	// CodeTree returns the id of the root tree of commit, or an error
	// wrapping run.ErrNotFound when there is no such commit.
	CodeTree(commit string) (string, error)
	// CodeEntries returns the entries of tree id, in git's order: by
	// name, a directory's name compared as if it ended in "/". Directory
	// entries (Mode 040000) name trees, to read with CodeEntries;
	// submodule entries (0160000) name commits of another repository,
	// which the store need not hold; all others name blobs. It returns
	// an error wrapping run.ErrNotFound when there is no such tree. The
	// caller may keep the slice: it is its own.
	CodeEntries(tree string) ([]run.CodeEntry, error)
	// CodeBlob returns the whole content of blob id (for a symbolic link,
	// its target), or an error wrapping run.ErrNotFound when there is no
	// such blob. The caller may keep the slice: it is its own.
	CodeBlob(id string) ([]byte, error)
}

// Kinds of Change and FileChange.
const (
	Added    = "added"
	Removed  = "removed"
	Changed  = "changed"  // a value (Change)
	Modified = "modified" // a file's content or mode (FileChange)
)

// Side is one of the two things compared: a run, or the work tree as
// WorkTreeSide describes it.
type Side struct {
	// Record is the run's record. A record without an ID (WorkTreeSide's)
	// is not a run: only its code is compared.
	Record *run.Record
	// Source is the id of the commit holding the exact tree the run ran:
	// the snapshot when the work tree was dirty, else the code commit. ""
	// means no code at all (a repository without commits), compared as an
	// empty tree.
	Source string
}

// RunSide returns the Side of a recorded run, with Source taken from the
// record.
func RunSide(rec *run.Record) Side {
	return Side{Record: rec, Source: SourceCommit(rec.Source)}
}

// SourceCommit returns the id of the commit holding the exact tree of src:
// its snapshot when that is a valid id (40 hex digits), else its code
// commit when that is, else "". The id is returned in lower case, as git
// writes ids.
func SourceCommit(src run.Source) string {
	for _, s := range []string{src.Snapshot, src.Commit} {
		if isID(s) {
			return strings.ToLower(s)
		}
	}
	return ""
}

// isID reports whether s is a git object id: 40 hex digits.
func isID(s string) bool {
	if len(s) != 40 {
		return false
	}
	for i := range len(s) {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// isRun reports whether the side is a recorded run, whose record is worth
// comparing; the work tree's synthetic record is not.
func (s Side) isRun() bool { return s.Record != nil && s.Record.ID != "" }

// Change is one key whose value differs between the two sides. A is nil
// when the key is Added, B when it is Removed.
type Change struct {
	Key  string
	A, B any
	Kind string // Added, Removed or Changed
}

// MetricChange compares one metric's summaries. A or B is nil when the
// metric is missing on that side.
type MetricChange struct {
	Key  string
	A, B *run.Summary
	// Delta is B.Last - A.Last; NaN when either is missing.
	Delta float64
	// Percent is Delta as a percentage of |A.Last|; NaN when A is missing
	// or A.Last is 0.
	Percent float64
}

// FileChange is one file that differs between the two sides' code.
type FileChange struct {
	Path string
	Kind string // Added, Removed or Modified (content or mode)
	// Added and Removed count lines; both are 0 for binary and big files.
	Added, Removed int
	Binary         bool // either side has a NUL byte in its first 8 KiB
	Big            bool // either side is larger than 1 MiB
}

// Result is everything that differs between two sides. Params, Metrics,
// Tags and Attributes are empty unless both sides are runs.
type Result struct {
	// Params that differ, sorted by key. Values keep their types: the
	// int 10, the float 10.0 and the string "10" all differ.
	Params []Change
	// Metrics holds every metric of either run, equal or not, sorted by
	// key, so that a table can show both runs' values side by side.
	Metrics []MetricChange
	// Tags that differ, sorted by key; values are strings.
	Tags []Change
	// Attributes of the record that differ, in the order of the
	// Attribute* keys. Values are canonical param values (string,
	// float64, []any of strings) so that run.FormatValue shows them.
	Attributes []Change
	// CodeA and CodeB are the sides' code commits (source.commit), "" when
	// none. They may be equal while Files is not empty: dirty runs.
	CodeA, CodeB string
	// Files that differ between the two exact sources, sorted by path.
	Files []FileChange
}

// Keys of Result.Attributes.
const (
	AttrStatus     = "status"     // string
	AttrDuration   = "duration"   // float64 seconds, up to now for a running run
	AttrExperiment = "experiment" // string
	AttrHost       = "host"       // string, the hostname
	AttrPlatform   = "platform"   // string, "os/arch" as Go names them
	AttrGPUs       = "gpus"       // []any of GPU names, absent when none
	AttrCommand    = "command"    // []any of argv strings, absent when none
)

// Runs compares two sides: their records when both are runs, and their
// code always, read through code. It reads only the parts of the two
// trees that differ.
func Runs(code Code, a, b Side) (*Result, error) {
	res := &Result{}
	if a.Record != nil {
		res.CodeA = a.Record.Source.Commit
	}
	if b.Record != nil {
		res.CodeB = b.Record.Source.Commit
	}
	if a.isRun() && b.isRun() {
		res.Params = compareMaps(a.Record.Params, b.Record.Params, run.SameValue)
		res.Tags = compareMaps(a.Record.Tags, b.Record.Tags, func(x, y string) bool { return x == y })
		res.Metrics = compareMetrics(a.Record.Metrics, b.Record.Metrics)
		res.Attributes = compareAttributes(a.Record, b.Record, time.Now())
	}
	pairs, err := changedFiles(code, a.Source, b.Source)
	if err != nil {
		return nil, err
	}
	res.Files, err = statFiles(code, pairs)
	if err != nil {
		return nil, err
	}
	return res, nil
}

// compareMaps lists the keys whose values differ, sorted.
func compareMaps[V any](a, b map[string]V, same func(x, y V) bool) []Change {
	var out []Change
	for k, va := range a {
		vb, ok := b[k]
		switch {
		case !ok:
			out = append(out, Change{Key: k, A: va, Kind: Removed})
		case !same(va, vb):
			out = append(out, Change{Key: k, A: va, B: vb, Kind: Changed})
		}
	}
	for k, vb := range b {
		if _, ok := a[k]; !ok {
			out = append(out, Change{Key: k, B: vb, Kind: Added})
		}
	}
	slices.SortFunc(out, func(x, y Change) int { return cmp.Compare(x.Key, y.Key) })
	return out
}

func compareMetrics(a, b map[string]run.Summary) []MetricChange {
	out := make([]MetricChange, 0, max(len(a), len(b)))
	for k, sa := range a {
		if run.IsSystemMetric(k) {
			continue // the machine's; git runs show has them
		}
		mc := MetricChange{Key: k, A: &sa, Delta: math.NaN(), Percent: math.NaN()}
		if sb, ok := b[k]; ok {
			mc.B = &sb
			mc.Delta = sb.Last - sa.Last
			if sa.Last != 0 {
				// Relative to |A| so that the sign says which way B moved.
				mc.Percent = mc.Delta / math.Abs(sa.Last) * 100
			}
		}
		out = append(out, mc)
	}
	for k, sb := range b {
		if _, ok := a[k]; !ok && !run.IsSystemMetric(k) {
			out = append(out, MetricChange{Key: k, B: &sb, Delta: math.NaN(), Percent: math.NaN()})
		}
	}
	slices.SortFunc(out, func(x, y MetricChange) int { return cmp.Compare(x.Key, y.Key) })
	return out
}

// compareAttributes compares the parts of two records that tell how they
// ran, in the order of the Attr* keys. A zero value counts as absent.
func compareAttributes(a, b *run.Record, now time.Time) []Change {
	va, vb := attributes(a, now), attributes(b, now)
	var out []Change
	for i := range va {
		x, y := va[i].v, vb[i].v
		switch {
		case x == nil && y == nil:
		case x == nil:
			out = append(out, Change{Key: va[i].key, B: y, Kind: Added})
		case y == nil:
			out = append(out, Change{Key: va[i].key, A: x, Kind: Removed})
		case !run.SameValue(x, y):
			out = append(out, Change{Key: va[i].key, A: x, B: y, Kind: Changed})
		}
	}
	return out
}

type attribute struct {
	key string
	v   any // nil when absent
}

func attributes(r *run.Record, now time.Time) []attribute {
	str := func(s string) any {
		if s == "" {
			return nil
		}
		return s
	}
	list := func(ss []string) any {
		if len(ss) == 0 {
			return nil
		}
		l := make([]any, len(ss))
		for i, s := range ss {
			l[i] = s
		}
		return l
	}
	var duration any
	if !r.Started.IsZero() {
		duration = r.Duration(now).Seconds()
	}
	platform := ""
	if r.Host.OS != "" || r.Host.Arch != "" {
		platform = r.Host.OS + "/" + r.Host.Arch
	}
	gpus := make([]string, len(r.Host.GPUs))
	for i, g := range r.Host.GPUs {
		gpus[i] = g.Name
	}
	return []attribute{
		{AttrStatus, str(string(r.Status))},
		{AttrDuration, duration},
		{AttrExperiment, str(r.Experiment)},
		{AttrHost, str(r.Host.Hostname)},
		{AttrPlatform, str(platform)},
		{AttrGPUs, list(gpus)},
		{AttrCommand, list(r.Command)},
	}
}

// WorkTreeName is the Name of the record WorkTreeSide makes.
const WorkTreeName = "work tree"

// WorkTreeSide returns the Side of the work tree whose source is src, as
// the store's CaptureSource describes it (gitstore.Repo.CaptureSource
// writes a work tree that differs from HEAD as a snapshot commit on top
// of HEAD, an unreferenced object that git gc prunes in time). Capturing
// is left to the caller, which holds the store and the context that may
// cancel it. The Side's Record is a synthetic one, not a run (no ID),
// named WorkTreeName and holding src, so Runs compares only its code.
func WorkTreeSide(src run.Source) Side {
	rec := &run.Record{Name: WorkTreeName, Source: src}
	return Side{Record: rec, Source: SourceCommit(src)}
}
