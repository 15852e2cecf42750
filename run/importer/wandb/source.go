// Package wandb reads Weights & Biases' offline run directories
// (wandb/offline-run-YYYYMMDD_HHMMSS-<id>/, and the run-* directories of
// synced runs), for git runs import: the run's config, summary, history,
// metadata and files.
//
// What the plain files under files/ hold is read first: config.yaml (each
// key's value: sub-key; W&B's own _wandb key is left out), wandb-summary.json,
// wandb-history.jsonl when present (lines of JSON with _step, _runtime
// and _timestamp), wandb-metadata.json (program, args, git commit and
// remote, host, user, startedAt). Recent SDKs keep the history, the run's
// name, project, tags and exit code only in the binary record log
// run-<id>.wandb, which is read too (see datastore.go); a run with neither
// a history file nor a readable log has its summary's last values only,
// and says so as a problem. files/output.log, what the run printed, is
// the run's output; every other file under files/ is an artifact.
//
// Directories are untrusted: files are read up to a limit, symbolic
// links are not followed, and every value is validated by the importer.
package wandb

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gitruns/gitruns/run"
	"github.com/gitruns/gitruns/run/importer"
)

// Tags an import of W&B runs sets, besides MLflow's system tags for the
// program (mlflow.source.name), git commit (mlflow.source.git.commit) and
// remote (mlflow.source.git.repoURL), and user (mlflow.user).
const (
	// TagRunID is the W&B id of the run, by which a later import knows
	// it (importer.Source.IDTag).
	TagRunID   = "wandb.runId"
	TagProject = "wandb.project"
	TagEntity  = "wandb.entity"
	TagGroup   = "wandb.group"
	TagJobType = "wandb.jobType"
	TagNotes   = "wandb.notes"
	// TagTags is W&B's tags of the run, comma-separated.
	TagTags = "wandb.tags"
	TagHost = "wandb.host"
	// TagArgs is the program's arguments, as a JSON list.
	TagArgs = "wandb.args"
	// TagHistory says where the run's history came from: "history file",
	// "record log", or "summary only" when W&B kept neither readable.
	TagHistory = "wandb.import.history"
)

// Limits on what is read of a run directory.
const (
	maxSmallFile = 16 << 20    // config, summary, metadata
	maxDataFile  = 2 << 30     // history file and record log
	maxFiles     = 100_000     // files under files/
	liveWithin   = time.Minute // a log written this recently may still grow
)

// outputFile is where W&B keeps what the run printed, below files/.
const outputFile = "output.log"

// runDir is the name of a run's directory: offline-run- or run-, its
// start (local time), and its id.
// Compiled when first used: its bounded repetitions make a program of
// 67 KB that every git-runs command would build at its start.
var runDir = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^(?:offline-)?run-(\d{8}_\d{6})-([a-z0-9]{1,64})$`)
})

// Source is a directory of W&B runs.
type Source struct {
	root string
	dirs []string
	runs map[string]*importer.Run
	now  func() time.Time
}

// Open returns the source of the runs under dir: a wandb/ directory, the
// directory holding it, or one run's directory.
func Open(dir string) (*Source, error) {
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("open W&B runs: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("open W&B runs: %s is not a directory", dir)
	}
	s := &Source{root: dir, runs: map[string]*importer.Run{}, now: time.Now}
	if runDir().MatchString(filepath.Base(filepath.Clean(dir))) {
		s.dirs = []string{dir}
		return s, nil
	}
	for _, d := range []string{filepath.Join(dir, "wandb"), dir} {
		ents, err := os.ReadDir(d)
		if err != nil {
			continue
		}
		for _, e := range ents {
			if e.IsDir() && runDir().MatchString(e.Name()) {
				s.dirs = append(s.dirs, filepath.Join(d, e.Name()))
			}
		}
		if len(s.dirs) > 0 {
			return s, nil
		}
	}
	return nil, fmt.Errorf("open W&B runs: %s holds no W&B run directory (wandb/offline-run-*, wandb/run-*)", dir)
}

// Runs reads every run directory whole: there are few, and their status
// is in the record log's last records.
func (s *Source) Runs(ctx context.Context) ([]importer.Ref, []importer.Problem, error) {
	var refs []importer.Ref
	var probs []importer.Problem
	where := map[string]string{}
	for _, d := range s.dirs {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		r, err := s.read(d)
		if err != nil {
			probs = append(probs, importer.Problem{Where: d, Err: err})
			continue
		}
		if other, dup := where[r.ID]; dup {
			probs = append(probs, importer.Problem{Where: d, Err: fmt.Errorf("run %s is also in %s (a resumed run): only the first directory is imported", r.ID, other), Experiment: r.ExperimentID})
			continue
		}
		where[r.ID] = d
		s.runs[r.ID] = r
		refs = append(refs, r.Ref)
	}
	return refs, probs, nil
}

// Load returns the run Runs read.
// IDTag is TagRunID: imported runs keep their W&B id there, apart from
// MLflow's ids, so that an MLflow run and a W&B run of the same id are
// two runs.
func (s *Source) IDTag() string { return TagRunID }

func (s *Source) Load(ctx context.Context, ref importer.Ref) (*importer.Run, error) {
	r, ok := s.runs[ref.ID]
	if !ok {
		return nil, fmt.Errorf("run %s was not listed", ref.ID)
	}
	return r, nil
}

// read reads the run in directory d.
func (s *Source) read(d string) (*importer.Run, error) {
	m := runDir().FindStringSubmatch(filepath.Base(filepath.Clean(d)))
	if m == nil {
		return nil, errors.New("not a W&B run directory")
	}
	start, _ := time.ParseInLocation("20060102_150405", m[1], time.Local)
	r := &importer.Run{
		Ref:    importer.Ref{ID: m[2], Start: start, Where: d, Status: run.Crashed},
		Params: map[string]string{}, Tags: map[string]string{}, Metrics: map[string][]run.Point{},
	}
	files := filepath.Join(d, "files")
	bad := func(name string, err error) {
		r.Problems = append(r.Problems, importer.Problem{Where: filepath.Join(d, name), Err: err})
	}
	var w wrun
	if err := w.readConfig(files); err != nil && !errors.Is(err, fs.ErrNotExist) {
		bad("files/config.yaml", err)
	}
	if err := w.readSummary(files); err != nil && !errors.Is(err, fs.ErrNotExist) {
		bad("files/wandb-summary.json", err)
	}
	if err := w.readMetadata(files); err != nil && !errors.Is(err, fs.ErrNotExist) {
		bad("files/wandb-metadata.json", err)
	}
	hist, err := w.historyFile(files)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		bad("files/wandb-history.jsonl", err)
	}
	logName := "run-" + r.ID + ".wandb"
	logErr := w.recordLog(filepath.Join(d, logName), !hist)
	if logErr != nil && !errors.Is(logErr, fs.ErrNotExist) {
		bad(logName, logErr)
	}
	switch {
	case hist:
		r.Tags[TagHistory] = "history file"
	case w.logHistory:
		r.Tags[TagHistory] = "record log"
	default:
		r.Tags[TagHistory] = "summary only"
		bad(logName, errors.New("no readable history (no files/wandb-history.jsonl, and the record log is missing or damaged): the summary's last values are imported"))
		w.summaryPoints()
	}
	w.fill(r)
	if w.exited == nil {
		// No exit record: killed, unless its log is still being written.
		if fi, err := os.Lstat(filepath.Join(d, logName)); err == nil && s.now().Sub(fi.ModTime()) < liveWithin {
			r.Status = run.Running
		}
	}
	arts, err := artifacts(files)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		bad("files", err)
	}
	r.Artifacts, r.Output = takeOutput(arts)
	return r, nil
}

// takeOutput takes output.log, what the run printed, out of its files:
// it is the run's output, as git runs exec keeps a command's.
func takeOutput(arts []importer.Artifact) ([]importer.Artifact, string) {
	for i, a := range arts {
		if a.Path == outputFile {
			return slices.Delete(arts, i, i+1), a.File
		}
	}
	return arts, ""
}

// artifacts lists the regular files under dir, not through symbolic
// links, as artifacts at their paths below it.
func artifacts(dir string) ([]importer.Artifact, error) {
	var out []importer.Artifact
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !e.Type().IsRegular() {
			return nil // directories are walked, links and the rest passed over
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		clean, err := run.CleanArtifactPath(filepath.ToSlash(rel))
		if err != nil {
			return nil
		}
		fi, err := e.Info()
		if err != nil {
			return err
		}
		out = append(out, importer.Artifact{Path: clean, Size: fi.Size(), File: p})
		if len(out) > maxFiles {
			return fmt.Errorf("more than %d files", maxFiles)
		}
		return nil
	})
	slices.SortFunc(out, func(a, b importer.Artifact) int { return strings.Compare(a.Path, b.Path) })
	return out, err
}
