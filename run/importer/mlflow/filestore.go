package mlflow

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/gitruns/gitruns/run"
	"github.com/gitruns/gitruns/run/importer"
	"github.com/gitruns/gitruns/run/mlflowtags"
)

// Bounds on what the file store reader takes from one file or directory:
// a store from elsewhere may have been made to hurt its reader.
const (
	// maxValueFile bounds a param or tag file: git-runs keeps at most
	// run.MaxStringLen bytes of a value.
	maxValueFile = run.MaxStringLen
	// maxMetricFile bounds one metric's file (some five million points).
	maxMetricFile = run.MaxHistorySize
	// maxEntries bounds the files of one run's params, tags or metrics.
	maxEntries = run.MaxEntries
	// maxDepth bounds how deep keys nest in directories (keys hold at
	// most 250 bytes, so at most 125 levels of "a/").
	maxDepth = 128
)

// The folders of an experiment that are not runs, as MLflow reserves
// them, and the store's own at the top.
var (
	reservedExperimentDirs = []string{"tags", "datasets", "traces", "models"}
	reservedRootDirs       = []string{".trash", "models", ".mlflow"}
)

// validRunID tells what MLflow accepts as a run id (^[a-zA-Z0-9][\w-]{0,255}$):
// a run directory of another name is no run. Not a regexp: its bounded
// repetition compiles into 255 copies, 240 KB and a millisecond at the
// start of every git-runs command.
func validRunID(id string) bool {
	if id == "" || len(id) > 256 || !isAlnum(id[0]) {
		return false
	}
	for i := 1; i < len(id); i++ {
		if c := id[i]; !isAlnum(c) && c != '_' && c != '-' {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// FileStore reads an MLflow file store (mlruns/): experiments as
// directories with a meta.yaml, deleted ones under .trash, runs below
// them with a meta.yaml and params/, tags/, metrics/ and artifacts/.
type FileStore struct {
	root string
	dirs map[string]string // run id to its directory, as Runs found them
}

// OpenFileStore opens the MLflow file store at root, the directory
// holding the experiments (mlruns).
func OpenFileStore(root string) (*FileStore, error) {
	fi, err := os.Stat(root)
	if err != nil {
		return nil, fmt.Errorf("open MLflow store: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("open MLflow store: %s is not a directory", root)
	}
	if _, err := os.Stat(filepath.Join(root, "0", "meta.yaml")); err != nil && !hasExperiment(root) {
		return nil, fmt.Errorf("open MLflow store: %s holds no MLflow experiment (no */meta.yaml): point at the mlruns directory", root)
	}
	return &FileStore{root: root, dirs: map[string]string{}}, nil
}

// hasExperiment tells whether some directory below root has a
// meta.yaml.
func hasExperiment(root string) bool {
	m, _ := filepath.Glob(filepath.Join(root, "*", "meta.yaml"))
	t, _ := filepath.Glob(filepath.Join(root, ".trash", "*", "meta.yaml"))
	return len(m)+len(t) > 0
}

// Runs lists the runs of every experiment, those under .trash as
// deleted.
func (s *FileStore) Runs(ctx context.Context) ([]importer.Ref, []importer.Problem, error) {
	var refs []importer.Ref
	var probs []importer.Problem
	for _, top := range []struct {
		dir     string
		deleted bool
	}{{s.root, false}, {filepath.Join(s.root, ".trash"), true}} {
		ents, err := os.ReadDir(top.dir)
		if err != nil {
			if top.deleted && errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return nil, nil, fmt.Errorf("read MLflow store: %w", err)
		}
		for _, e := range ents {
			if ctx.Err() != nil {
				return nil, nil, ctx.Err()
			}
			if !top.deleted && slices.Contains(reservedRootDirs, e.Name()) {
				continue
			}
			dir := filepath.Join(top.dir, e.Name())
			switch {
			case e.Type()&fs.ModeSymlink != 0:
				probs = append(probs, importer.Problem{Where: dir, Err: errors.New("a symbolic link: not followed")})
				continue
			case !e.IsDir():
				continue
			}
			r, p := s.experimentRuns(dir, top.deleted)
			refs, probs = append(refs, r...), append(probs, p...)
		}
	}
	return refs, probs, nil
}

// experimentRuns lists the runs of the experiment in dir.
func (s *FileStore) experimentRuns(dir string, deleted bool) ([]importer.Ref, []importer.Problem) {
	id := filepath.Base(dir)
	m, err := readMeta(dir)
	if err != nil {
		return nil, []importer.Problem{{Where: filepath.Join(dir, "meta.yaml"), Err: err, Experiment: id}}
	}
	if eid, ok := m["experiment_id"]; ok && eid != id {
		return nil, []importer.Problem{{Where: filepath.Join(dir, "meta.yaml"), Err: fmt.Errorf("experiment id %q is not its directory's name", eid), Experiment: id}}
	}
	name := m["name"]
	deleted = deleted || m["lifecycle_stage"] == "deleted"
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, []importer.Problem{{Where: dir, Err: err, Experiment: id}}
	}
	var probs []importer.Problem
	var dirs []string
	for _, e := range ents {
		rdir := filepath.Join(dir, e.Name())
		switch {
		case slices.Contains(reservedExperimentDirs, e.Name()) || !e.IsDir() && e.Type()&fs.ModeSymlink == 0:
		case e.Type()&fs.ModeSymlink != 0:
			probs = append(probs, importer.Problem{Where: rdir, Err: errors.New("a symbolic link: not followed")})
		case !validRunID(e.Name()):
			probs = append(probs, importer.Problem{Where: rdir, Err: errors.New("not a run: its name is no MLflow run id")})
		default:
			dirs = append(dirs, rdir)
		}
	}
	// Each run's meta.yaml and two tag files, a few small reads that
	// mostly wait on the file system: read several at once, kept in the
	// directory's order.
	refs := make([]importer.Ref, len(dirs))
	errs := make([]error, len(dirs))
	var wg sync.WaitGroup
	next := make(chan int)
	for range min(listJobs, len(dirs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				refs[i], errs[i] = s.runRef(dirs[i], id, name)
			}
		}()
	}
	for i := range dirs {
		next <- i
	}
	close(next)
	wg.Wait()
	out := refs[:0]
	for i, ref := range refs {
		if errs[i] != nil {
			probs = append(probs, asProblem(dirs[i], errs[i]))
			continue
		}
		ref.Deleted = ref.Deleted || deleted
		s.dirs[ref.ID] = dirs[i]
		out = append(out, ref)
	}
	for i := range probs {
		probs[i].Experiment = id
	}
	return out, probs
}

// listJobs is how many runs' meta.yaml files a listing reads at once.
const listJobs = 8

// runRef reads the meta.yaml of the run in dir, of experiment exp.
func (s *FileStore) runRef(dir, exp, expName string) (importer.Ref, error) {
	m, err := readMeta(dir)
	if err != nil {
		return importer.Ref{}, importer.Problem{Where: filepath.Join(dir, "meta.yaml"), Err: err}
	}
	where := filepath.Join(dir, "meta.yaml")
	id := filepath.Base(dir)
	if rid := m["run_id"]; rid != "" && rid != id || rid == "" && m["run_uuid"] != id {
		return importer.Ref{}, importer.Problem{Where: where, Err: fmt.Errorf("run id %q is not its directory's name", rid)}
	}
	if e := m["experiment_id"]; e != exp {
		return importer.Ref{}, importer.Problem{Where: where, Err: fmt.Errorf("experiment id %q is not its experiment's", e)}
	}
	status := run.Running
	if v, ok := m["status"]; ok {
		st, ok := mlflowtags.ParseStatus(v)
		if !ok {
			return importer.Ref{}, importer.Problem{Where: where, Err: fmt.Errorf("unknown run status %q", v)}
		}
		status = st
	}
	start, _, err := m.int64Field("start_time")
	if err != nil {
		return importer.Ref{}, importer.Problem{Where: where, Err: err}
	}
	ref := importer.Ref{
		ID: id, Experiment: expName, ExperimentID: exp, Name: m["run_name"],
		Status: status, Deleted: m["lifecycle_stage"] == "deleted",
		Start: time.UnixMilli(start), Where: dir,
	}
	// Two small files any listing needs: the name older versions kept
	// only as a tag, and the parent.
	if ref.Name == "" {
		ref.Name, _ = readValue(filepath.Join(dir, "tags", mlflowtags.RunName))
	}
	ref.Parent, _ = readValue(filepath.Join(dir, "tags", mlflowtags.Parent))
	return ref, nil
}

// Load reads the run ref names whole.
// IDTag is mlflowtags.RunID: imported runs keep their MLflow id there.
func (s *FileStore) IDTag() string { return mlflowtags.RunID }

func (s *FileStore) Load(ctx context.Context, ref importer.Ref) (*importer.Run, error) {
	dir, ok := s.dirs[ref.ID]
	if !ok {
		return nil, fmt.Errorf("no run %s in the store", ref.ID)
	}
	m, err := readMeta(dir)
	if err != nil {
		return nil, importer.Problem{Where: filepath.Join(dir, "meta.yaml"), Err: err}
	}
	r := &importer.Run{Ref: ref, User: m["user_id"], ArtifactURI: m["artifact_uri"]}
	if end, ok, err := m.int64Field("end_time"); err != nil {
		return nil, importer.Problem{Where: filepath.Join(dir, "meta.yaml"), Err: err}
	} else if ok {
		r.End = time.UnixMilli(end)
	}
	if at, ok, _ := m.int64Field("deleted_time"); ok {
		r.DeletedAt = time.UnixMilli(at)
	}
	bad := func(p importer.Problem) { r.Problems = append(r.Problems, p) }
	r.Params = readValues(filepath.Join(dir, "params"), bad)
	r.Tags = readValues(filepath.Join(dir, "tags"), bad)
	r.Metrics = run.History{}
	walk(filepath.Join(dir, "metrics"), bad, func(key, path string) {
		pts, err := readMetric(path)
		if err != nil {
			bad(asProblem(path, err))
		}
		if len(pts) > 0 {
			r.Metrics[key] = pts
		}
	})
	walk(filepath.Join(dir, "artifacts"), bad, func(rel, path string) {
		fi, err := os.Lstat(path)
		if err != nil {
			bad(importer.Problem{Where: path, Err: err})
			return
		}
		p, err := run.CleanArtifactPath(rel)
		if err != nil {
			bad(importer.Problem{Where: path, Err: err})
			return
		}
		r.Artifacts = append(r.Artifacts, importer.Artifact{Path: p, Size: fi.Size(), File: path})
	})
	return r, ctx.Err()
}

func asProblem(where string, err error) importer.Problem {
	var p importer.Problem
	if errors.As(err, &p) {
		return p
	}
	return importer.Problem{Where: where, Err: err}
}

// readMeta reads and parses dir/meta.yaml.
func readMeta(dir string) (meta, error) {
	data, err := readBounded(filepath.Join(dir, "meta.yaml"), maxMetaSize)
	if err != nil {
		return nil, err
	}
	m, err := parseMeta(data)
	if err != nil {
		return nil, fmt.Errorf("not MLflow's meta.yaml: %w", err)
	}
	return m, nil
}

// readValues reads the files below dir, each a param or tag whose key is
// its path below dir, into a map.
func readValues(dir string, bad func(importer.Problem)) map[string]string {
	out := map[string]string{}
	walk(dir, bad, func(key, path string) {
		v, err := readValue(path)
		if err != nil {
			bad(importer.Problem{Where: path, Err: err})
			return
		}
		out[key] = v
	})
	return out
}

// readValue reads a param or tag file: its whole content, as MLflow
// wrote it.
func readValue(path string) (string, error) {
	data, err := readBounded(path, maxValueFile)
	return string(data), err
}

// readBounded reads the regular file at path, not through a symbolic
// link, refusing one longer than limit.
func readBounded(path string, limit int64) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|oNoFollow, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, errors.New("not a regular file")
	}
	if fi.Size() > limit {
		return nil, fmt.Errorf("larger than %s", run.FormatSize(limit))
	}
	// Sized by the stat, so that a metric file is read in one go; the
	// limit still bounds a file that grows meanwhile.
	var buf bytes.Buffer
	buf.Grow(int(fi.Size()) + bytes.MinRead)
	if _, err := buf.ReadFrom(io.LimitReader(f, limit+1)); err != nil {
		return nil, err
	}
	data := buf.Bytes()
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("larger than %s", run.FormatSize(limit))
	}
	return data, nil
}

// walk calls f with the slash path below dir and the path of every
// regular file below dir, without following symbolic links (each named
// as a problem), at most maxEntries files and maxDepth levels deep. A
// missing dir holds nothing.
func walk(dir string, bad func(importer.Problem), f func(rel, path string)) {
	n := 0
	var visit func(d, rel string, depth int)
	visit = func(d, rel string, depth int) {
		ents, err := os.ReadDir(d)
		if err != nil {
			bad(importer.Problem{Where: d, Err: err})
			return
		}
		for _, e := range ents {
			path := filepath.Join(d, e.Name())
			r := e.Name()
			if rel != "" {
				r = rel + "/" + e.Name()
			}
			switch {
			case e.Type()&fs.ModeSymlink != 0:
				bad(importer.Problem{Where: path, Err: errors.New("a symbolic link: not followed")})
			case e.IsDir() && depth >= maxDepth:
				bad(importer.Problem{Where: path, Err: fmt.Errorf("nested more than %d directories deep", maxDepth)})
			case e.IsDir():
				visit(path, r, depth+1)
			case !e.Type().IsRegular():
				bad(importer.Problem{Where: path, Err: errors.New("not a regular file")})
			case n >= maxEntries:
				if n == maxEntries {
					bad(importer.Problem{Where: d, Err: fmt.Errorf("more than %d files: the rest left out", maxEntries)})
				}
				n++
			default:
				n++
				f(r, path)
			}
		}
	}
	switch fi, err := os.Lstat(dir); {
	case errors.Is(err, fs.ErrNotExist):
		return
	case err != nil:
		bad(importer.Problem{Where: dir, Err: err})
	case fi.Mode()&fs.ModeSymlink != 0:
		bad(importer.Problem{Where: dir, Err: errors.New("a symbolic link: not followed")})
	case !fi.IsDir():
		bad(importer.Problem{Where: dir, Err: errors.New("not a directory")})
	default:
		visit(dir, "", 0)
	}
}

// readMetric reads a metric file: one point a line, "TIMESTAMP VALUE
// [STEP]" as MLflow writes them. Bad lines are left out and named, the
// first of them, in the error returned with the good points.
func readMetric(path string) ([]run.Point, error) {
	data, err := readBounded(path, maxMetricFile)
	if err != nil {
		return nil, err
	}
	pts := make([]run.Point, 0, bytes.Count(data, []byte{'\n'})+1)
	var first error
	nbad := 0
	for ln := 1; len(data) > 0; ln++ {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		p, err := parsePoint(line)
		if err != nil {
			if first == nil {
				first = fmt.Errorf("line %d: %w", ln, err)
			}
			nbad++
			continue
		}
		pts = append(pts, p)
	}
	if first != nil {
		if nbad > 1 {
			first = fmt.Errorf("%w (and %d more bad lines, left out)", first, nbad-1)
		} else {
			first = fmt.Errorf("%w (left out)", first)
		}
		return pts, importer.Problem{Where: path, Err: first}
	}
	return pts, nil
}

// parsePoint reads one line of a metric file. Values are Python's repr
// of a float: nan, inf and -inf included.
func parsePoint(line []byte) (run.Point, error) {
	f1, rest, _ := bytes.Cut(line, []byte{' '})
	f2, f3, three := bytes.Cut(rest, []byte{' '})
	if len(f1) == 0 || len(f2) == 0 || three && (len(f3) == 0 || bytes.IndexByte(f3, ' ') >= 0) {
		return run.Point{}, errors.New("want TIMESTAMP VALUE STEP")
	}
	ts, err := strconv.ParseInt(string(f1), 10, 64)
	if err != nil {
		return run.Point{}, fmt.Errorf("timestamp %q is not an integer", short(f1))
	}
	v, err := parseValue(f2)
	if err != nil {
		return run.Point{}, err
	}
	var step int64
	if three {
		if step, err = strconv.ParseInt(string(f3), 10, 64); err != nil {
			return run.Point{}, fmt.Errorf("step %q is not an integer", short(f3))
		}
	}
	return run.Point{Step: step, Time: ts, Value: v}, nil
}

func parseValue(b []byte) (float64, error) {
	switch string(b) {
	case "nan", "NaN":
		return math.NaN(), nil
	case "inf", "Infinity":
		return math.Inf(1), nil
	case "-inf", "-Infinity":
		return math.Inf(-1), nil
	}
	// Go reads hexadecimal floats and digits separated by underscores;
	// Python's repr never writes either.
	v, err := strconv.ParseFloat(string(b), 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) || bytes.IndexByte(b, 'x') >= 0 || bytes.IndexByte(b, 'X') >= 0 || bytes.IndexByte(b, '_') >= 0 {
		return 0, fmt.Errorf("value %q is not a number", short(b))
	}
	return v, nil
}

func short(b []byte) string {
	if len(b) > 40 {
		return string(b[:40]) + "..."
	}
	return string(b)
}

// Experiments lists the experiments of the store with their tags; one
// whose meta.yaml cannot be read is left out (Runs names it).
func (s *FileStore) Experiments(ctx context.Context) ([]importer.Experiment, error) {
	var out []importer.Experiment
	for _, top := range []struct {
		dir     string
		deleted bool
	}{{s.root, false}, {filepath.Join(s.root, ".trash"), true}} {
		ents, err := os.ReadDir(top.dir)
		if err != nil {
			continue
		}
		for _, e := range ents {
			if !e.IsDir() || !top.deleted && slices.Contains(reservedRootDirs, e.Name()) {
				continue
			}
			dir := filepath.Join(top.dir, e.Name())
			m, err := readMeta(dir)
			if err != nil || m["experiment_id"] != e.Name() {
				continue
			}
			tags := readValues(filepath.Join(dir, "tags"), func(importer.Problem) {})
			out = append(out, importer.Experiment{ID: e.Name(), Name: m["name"], Tags: tags, Deleted: top.deleted || m["lifecycle_stage"] == "deleted"})
		}
	}
	return out, ctx.Err()
}
