package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/gitruns/gitruns/run/importer"
	"github.com/gitruns/gitruns/run/importer/mlflow"
	"github.com/gitruns/gitruns/run/tracker"
)

type importCmd struct {
	Mlflow importMlflowCmd `cmd:"" name:"mlflow" help:"Import the runs of an MLflow file store (mlruns/), SQLite database or tracking server."`
	Wandb  importWandbCmd  `cmd:"" name:"wandb" help:"Import W&B's offline runs (wandb/offline-run-*) from their directories."`
}

func (c *importCmd) Help() string {
	return `Brings runs recorded by another tracker into this repository, as runs
that have ended, so that their history lives beside the code. Importing
again adds only what is new.`
}

type importMlflowCmd struct {
	Store          string   `arg:"" name:"STORE" help:"The MLflow store: a directory such as mlruns/, sqlite:///path/mlflow.db, or a tracking server's http://HOST:PORT."`
	DryRun         bool     `short:"n" help:"Read the store and list what would be imported, and import nothing."`
	JSON           bool     `name:"json" help:"Print what was done as one JSON object, for scripts."`
	IncludeDeleted bool     `help:"Import the runs MLflow deleted too, put aside (tag gitruns.deleted): git runs ls leaves them out, serve and ui show them when asked."`
	IncludeRemoved bool     `help:"Import again the runs imported before and removed here since with git runs rm (left out otherwise)."`
	Experiment     []string `placeholder:"NAME|ID" help:"Import only the runs of this experiment (again for more)."`
	MaxArtifact    string   `placeholder:"SIZE" default:"100M" help:"Copy artifact files up to SIZE (such as 100M, 2G); larger ones are listed by reference."`
}

func (c *importMlflowCmd) Help() string {
	return `Reads an MLflow tracking store and records each of its runs as a git-runs
run that has ended: experiment, name, status, start and end times,
params (typed as the command line types them: 100 is an integer, 1e3
stays text), tags, full metric histories with their times and steps,
and artifacts. MLflow's system tags are mapped as git runs serve maps
them: mlflow.runName is the run's name, mlflow.parentRunId names the
parent by its git-runs id, and mlflow.source.git.commit becomes the
run's source when this repository has that commit.

STORE is a file store, the directory holding the experiments (mlruns,
as MLflow's file: tracking URIs name it), an SQLite database as its
tracking URI names it: sqlite:///relative/path.db or
sqlite:////absolute/path.db, or a running tracking server by its URL,
http://HOST:PORT or https://HOST/PREFIX: its REST API is read page by
page (runs, each metric's history, artifact downloads), with the
credentials MLflow's clients take from MLFLOW_TRACKING_TOKEN, or
MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD, its certificate
checked against MLFLOW_TRACKING_SERVER_CERT_PATH when set (not at all
with MLFLOW_TRACKING_INSECURE_TLS=true), and each call limited to
MLFLOW_HTTP_REQUEST_TIMEOUT seconds (120 unless set). The store is only
read.

Each run keeps its MLflow id in tag mlflow.runId. Importing the same
store again adds runs that are new there, and to runs imported before
what MLflow gained since: metric points, tags set or changed, artifacts.
Params stay as first imported, and a tag removed in MLflow stays. Runs
still running in MLflow are left for an import after their end; runs
MLflow deleted are left out unless --include-deleted. A run imported
and then removed here with git runs rm (or removed in a clone this one
fetched from) is not imported again: it is listed as skipped, deleted
here, unless --include-removed.

Artifacts are read from inside the store only: a run's artifacts/
directory in a file store, and, for a database, the files of runs whose
artifact location lies in the database's directory (mlflow-artifacts:/
as mlflow server keeps them, in mlartifacts/ there); a server sends
each file it lists, through /get-artifact. Each run keeps its
MLflow artifact location in tag mlflow.artifactUri, and the files over
--max-artifact are listed in tag mlflow.import.notCopied.

Every file or row that cannot be read is named on standard error, one
line each, and the rest is imported; the exit status is then 1.

  git runs import mlflow mlruns --dry-run
  git runs import mlflow mlruns
  git runs import mlflow sqlite:///mlflow.db --experiment churn
  git runs import mlflow http://127.0.0.1:5000`
}

func (c *importMlflowCmd) Run(e *env) error {
	maxArt, err := parseSize(c.MaxArtifact)
	if err != nil {
		return fmt.Errorf("--max-artifact: %w", err)
	}
	t, err := e.tracker()
	if err != nil {
		return err
	}
	var src importer.Source
	if mlflow.IsSQLiteURI(c.Store) {
		path, err := mlflow.SQLitePath(c.Store)
		if err != nil {
			return err
		}
		db, err := mlflow.OpenSQLite(e.ctx, path)
		if err != nil {
			return err
		}
		defer db.Close()
		src = db
	} else if srv, err := openMlflowServer(c.Store, maxArt, c.DryRun, c.Experiment); srv != nil || err != nil {
		if err != nil {
			return err
		}
		defer srv.Close()
		src = srv
	} else {
		if strings.Contains(c.Store, "://") {
			return fmt.Errorf("import: %s: want a directory, sqlite:///path or http://HOST:PORT (other MLflow stores are not read yet)", oneLine(c.Store))
		}
		fs, err := mlflow.OpenFileStore(c.Store)
		if err != nil {
			return err
		}
		src = fs
	}
	o := importer.Options{IncludeDeleted: c.IncludeDeleted, IncludeRemoved: c.IncludeRemoved, Experiments: c.Experiment, DryRun: c.DryRun, MaxArtifact: maxArt}
	return runImport(e, t, src, o, c.JSON, "MLflow")
}

// runImport imports src's runs into t with a progress bar, problems on
// standard error and what was done on standard output; from names the
// tracker in messages ("MLflow", "W&B").
func runImport(e *env, t *tracker.Tracker, src importer.Source, o importer.Options, asJSON bool, from string) error {
	bar := newProgress(e.ttyErr, o.DryRun, from)
	o.Progress = bar.set
	o.Warn = func(p importer.Problem) {
		bar.clear()
		e.warn("%s", oneLine(p.Error()))
	}
	res, err := importer.Import(e.ctx, t, src, o)
	bar.clear()
	if err != nil {
		return err
	}
	if asJSON {
		if err := writeImportJSON(e.stdout, res, o.DryRun, from); err != nil {
			return err
		}
	} else {
		printImport(e.stdout, res, o.DryRun, from)
	}
	if n := len(res.Problems); n > 0 {
		return fmt.Errorf("import: %d %s could not be read or imported (named above); the rest was %s",
			n, map[bool]string{true: "part", false: "parts"}[n == 1], map[bool]string{true: "listed", false: "imported"}[o.DryRun])
	}
	return nil
}

// printImport lists each run new, updated or skipped as removed here,
// and a summary.
func printImport(w io.Writer, res *importer.Result, dry bool, from string) {
	for _, it := range res.Items {
		var verb string
		switch it.Action {
		case importer.Removed:
			fmt.Fprintf(w, "skipped %s (%s) from %s run %s: deleted here (--include-removed imports it)\n", oneLine(it.Name), oneLine(it.Experiment), from, oneLine(it.Source))
			continue
		case importer.New:
			verb = map[bool]string{false: "imported", true: "would import"}[dry]
		case importer.Updated:
			verb = map[bool]string{false: "added to", true: "would add to"}[dry]
		default:
			continue
		}
		what := counted(it.Points, "point")
		if it.Action == importer.New {
			what = counted(it.Params, "param") + ", " + what
		} else if it.Tags > 0 {
			what += ", " + counted(it.Tags, "tag")
		}
		if it.Artifacts > 0 {
			what += ", " + counted(it.Artifacts, "artifact")
		}
		if it.NotCopied > 0 {
			what += ", " + counted(it.NotCopied, "artifact") + " left at the source"
		}
		// A dry run's new runs have no id yet: the import draws them.
		id := short(it.ID) + " "
		if dry && it.Action == importer.New {
			id = ""
		}
		fmt.Fprintf(w, "%s %s%s (%s) from %s run %s: %s\n", verb, id, oneLine(it.Name), oneLine(it.Experiment), from, oneLine(it.Source), what)
	}
	fmt.Fprintln(w, res.Summary(dry))
}

// counted is "1 point", "2 points".
func counted(n int, noun string) string {
	if n != 1 {
		noun += "s"
	}
	return fmt.Sprintf("%d %s", n, noun)
}

// writeImportJSON writes res as one JSON object; each run's source id
// is its mlflow_run_id, or wandb_run_id when from is "W&B".
func writeImportJSON(w io.Writer, res *importer.Result, dry bool, from string) error {
	type item struct {
		Source     string `json:"mlflow_run_id,omitempty"`
		Wandb      string `json:"wandb_run_id,omitempty"`
		ID         string `json:"id,omitempty"`
		Name       string `json:"name"`
		Experiment string `json:"experiment"`
		Action     string `json:"action"`
		Params     int    `json:"params"`
		Points     int    `json:"points"`
		Tags       int    `json:"tags"`
		Artifacts  int    `json:"artifacts"`
		NotCopied  int    `json:"artifacts_not_copied"`
	}
	type problem struct {
		Where string `json:"where"`
		Error string `json:"error"`
	}
	out := struct {
		DryRun    bool `json:"dry_run"`
		New       int  `json:"new"`
		Updated   int  `json:"updated"`
		Unchanged int  `json:"unchanged"`
		Running   int  `json:"running"`
		Removed   int  `json:"deleted_here"`
		Deleted   int  `json:"deleted_left_out"`
		Filtered  int  `json:"other_experiments"`
		Failed    int  `json:"failed"`
		// Experiments names the experiments created with the source's
		// tags.
		Experiments []string  `json:"experiments"`
		Runs        []item    `json:"runs"`
		Problems    []problem `json:"problems"`
	}{
		DryRun: dry, New: res.Count(importer.New), Updated: res.Count(importer.Updated),
		Unchanged: res.Count(importer.Unchanged), Running: res.Count(importer.Running), Removed: res.Count(importer.Removed),
		Deleted: res.Deleted, Filtered: res.Filtered, Failed: res.Count(importer.Failed),
		Experiments: append([]string{}, res.Experiments...), Runs: []item{}, Problems: []problem{},
	}
	for _, it := range res.Items {
		id := it.ID
		if dry && it.Action == importer.New || it.Action == importer.Running || it.Action == importer.Failed || it.Action == importer.Removed {
			id = "" // no run of that id was written
		}
		src, wb := it.Source, ""
		if from == "W&B" {
			src, wb = "", it.Source
		}
		out.Runs = append(out.Runs, item{src, wb, id, it.Name, it.Experiment, string(it.Action), it.Params, it.Points, it.Tags, it.Artifacts, it.NotCopied})
	}
	for _, p := range res.Problems {
		out.Problems = append(out.Problems, problem{p.Where, p.Err.Error()})
	}
	return json.NewEncoder(w).Encode(out)
}

// oneLine shows the control characters of s, which comes from the store,
// as escapes, so that a message stays one line whatever it names.
func oneLine(s string) string {
	if strings.IndexFunc(s, unicode.IsControl) < 0 {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if unicode.IsControl(r) {
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// parseSize reads a size such as 100M, 2G, 512K or 1000 (bytes).
func parseSize(s string) (int64, error) {
	t := strings.TrimSuffix(strings.TrimSuffix(strings.ToUpper(strings.TrimSpace(s)), "B"), "I")
	mult := int64(1)
	if t != "" {
		switch t[len(t)-1] {
		case 'K':
			mult = 1 << 10
		case 'M':
			mult = 1 << 20
		case 'G':
			mult = 1 << 30
		case 'T':
			mult = 1 << 40
		}
		if mult > 1 {
			t = t[:len(t)-1]
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("invalid size %q: want bytes, or a number with K, M, G or T", s)
	}
	return n * mult, nil
}

// progress draws a bar of the runs looked at on a terminal, at most ten
// times a second; without a terminal it draws nothing.
type progress struct {
	tty   *os.File
	verb  string
	mu    sync.Mutex
	last  time.Time
	shown bool
	start time.Time
}

// progressDelay is how long an import runs before its bar is drawn: a
// short one draws nothing. Tests set it to zero.
var progressDelay = 500 * time.Millisecond

func newProgress(tty *os.File, dry bool, from string) *progress {
	verb := "importing"
	if dry {
		verb = "reading"
	}
	return &progress{tty: tty, verb: verb + " " + from, start: time.Now()}
}

func (p *progress) set(done, total int) {
	if p.tty == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	// A short import draws nothing; a long one from progressDelay on,
	// ten times a second at most, and always its last state.
	if now.Sub(p.start) < progressDelay || now.Sub(p.last) < 100*time.Millisecond && done < total {
		return
	}
	p.last = now
	const width = 30
	fill := width * done / max(total, 1)
	fmt.Fprintf(p.tty, "\r\x1b[K%s runs [%s%s] %d/%d", p.verb, strings.Repeat("=", fill), strings.Repeat(" ", width-fill), done, total)
	p.shown = true
}

// clear takes the bar off the terminal, for a message or the end.
func (p *progress) clear() {
	if p.tty == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.shown {
		fmt.Fprint(p.tty, "\r\x1b[K")
		p.shown = false
	}
}
