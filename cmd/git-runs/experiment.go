package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gitruns/gitruns/run"
	"github.com/gitruns/gitruns/run/tracker"
)

type experimentCmd struct {
	Ls      experimentLsCmd      `cmd:"" name:"ls" help:"List experiments, created last first."`
	Show    experimentShowCmd    `cmd:"" help:"Show one experiment."`
	Create  experimentCreateCmd  `cmd:"" help:"Create an experiment and print its id."`
	Rename  experimentRenameCmd  `cmd:"" help:"Rename an experiment; its runs stay in it."`
	Rm      experimentRmCmd      `cmd:"" name:"rm" help:"Delete an experiment as MLflow does: put aside, runs kept, restorable."`
	Restore experimentRestoreCmd `cmd:"" help:"Bring back an experiment deleted with rm."`
	Tag     experimentTagCmd     `cmd:"" help:"Set or remove tags of an experiment."`
}

func (c *experimentCmd) Help() string {
	return `Experiments group runs, as MLflow's do. A run names its experiment by
name when it starts (git runs exec --experiment NAME, or -e); an
experiment has a numeric id that never changes, the same on every clone,
and "0" is Default, the experiment of runs that name none. Every name
runs use is an experiment even before anyone creates it; create gives
one an id, tags and a creation time of its own before its first run.

A rename keeps the runs: they were recorded under the old name, which the
experiment keeps among its former names. rm deletes as MLflow's
delete_experiment does: the experiment is marked deleted, keeps its id,
name and runs, and restore brings it back. Experiments travel with git
runs push and fetch.

ID|NAME, wherever a command takes one, is an experiment's id or its
current name; an id wins over a name that reads as one.

  git runs experiment create churn --tag team=growth
  git runs exec -e churn -- python train.py
  git runs experiment ls
  git runs experiment rename churn churn-v2`
}

// experimentJSON is an experiment as --json writes it: MLflow's field
// names, its tags as an object, times in Unix milliseconds (null when the
// experiment has none yet, as Default before its first run).
type experimentJSON struct {
	ID             string            `json:"experiment_id"`
	Name           string            `json:"name"`
	LifecycleStage string            `json:"lifecycle_stage"`
	Tags           map[string]string `json:"tags"`
	FormerNames    []string          `json:"former_names"`
	Created        *int64            `json:"creation_time"`
	Updated        *int64            `json:"last_update_time"`
	Runs           *int              `json:"runs,omitempty"`
}

func toJSON(e run.Experiment) experimentJSON {
	out := experimentJSON{ID: e.ID, Name: e.Name, LifecycleStage: "active", Tags: e.Tags, FormerNames: e.Former,
		Created: unixMS(e.Created), Updated: unixMS(e.Updated)}
	if e.Deleted {
		out.LifecycleStage = "deleted"
	}
	if out.Tags == nil {
		out.Tags = map[string]string{}
	}
	if out.FormerNames == nil {
		out.FormerNames = []string{}
	}
	return out
}

func unixMS(t time.Time) *int64 {
	if t.IsZero() {
		return nil
	}
	ms := t.UnixMilli()
	return &ms
}

func writeExperimentJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

type experimentLsCmd struct {
	All    bool   `short:"a" help:"Include deleted experiments."`
	Filter string `short:"f" placeholder:"EXPR" help:"Only experiments matching EXPR, MLflow's experiment filter: name, tags.KEY, creation_time, last_update_time."`
	JSON   bool   `name:"json" help:"Print an array of experiments (MLflow's fields, runs counted) instead of a table."`
}

func (c *experimentLsCmd) Help() string {
	return `Lists experiments created last first: id, name, how many runs it has,
when it was created, and its tags. Deleted experiments are left out
unless --all, which marks them. Runs deleted through MLflow's API (put
aside, tag gitruns.deleted) are not counted.

EXPR is the filter of MLflow's search_experiments, in git-runs' query
language: name (= != LIKE ILIKE IN), tags.KEY, creation_time and
last_update_time (Unix ms, or relative: creation_time > -7d), joined
with and, or, not and parentheses.

  git runs experiment ls --filter "name LIKE 'churn%'"
  git runs experiment ls --all --json`
}

func (c *experimentLsCmd) Run(e *env) error {
	t, err := e.tracker()
	if err != nil {
		return err
	}
	all, err := t.Experiments(e.ctx)
	if err != nil {
		return err
	}
	shown, err := tracker.FilterExperiments(all, c.Filter)
	if err != nil {
		return fmt.Errorf("filter experiments: %w", err)
	}
	if !c.All {
		shown = slices.DeleteFunc(slices.Clone(shown), func(x run.Experiment) bool { return x.Deleted })
	}
	counts, err := t.ExperimentRunCounts(e.ctx)
	if err != nil {
		return err
	}
	if c.JSON {
		out := make([]experimentJSON, len(shown))
		for i, x := range shown {
			out[i] = toJSON(x)
			n := counts[x.ID]
			out[i].Runs = &n
		}
		return writeExperimentJSON(e.stdout, out)
	}
	e.experimentTable(shown, counts)
	return nil
}

func (e *env) experimentTable(exps []run.Experiment, counts map[string]int) {
	if len(exps) == 0 {
		return
	}
	now := time.Now()
	rows := [][]string{{"ID", "NAME", "RUNS", "CREATED", "TAGS"}}
	for _, x := range exps {
		name := oneLine(x.Name)
		if x.Deleted {
			name += " (deleted)"
		}
		created := "-"
		if !x.Created.IsZero() {
			created = ago(x.Created, now)
		}
		rows = append(rows, []string{x.ID, name, strconv.Itoa(counts[x.ID]), created, tagList(x.Tags)})
	}
	fitTable(e.stdout, rows, e.width())
}

func tagList(tags map[string]string) string {
	var parts []string
	for _, k := range sortedKeys(tags) {
		parts = append(parts, oneLine(k+"="+tags[k]))
	}
	return strings.Join(parts, " ")
}

type experimentShowCmd struct {
	Spec string `arg:"" name:"ID|NAME" help:"The experiment."`
	JSON bool   `name:"json" help:"Print it as one JSON object (MLflow's fields)."`
}

func (c *experimentShowCmd) Help() string {
	return `Shows one experiment, deleted or not: its id, name, whether it is
deleted, its former names (runs recorded under them are still its), its
times and its tags.

  git runs experiment show churn --json`
}

func (c *experimentShowCmd) Run(e *env) error {
	t, err := e.tracker()
	if err != nil {
		return err
	}
	x, err := t.ResolveExperiment(e.ctx, c.Spec)
	if err != nil {
		return err
	}
	if c.JSON {
		return writeExperimentJSON(e.stdout, toJSON(x))
	}
	stage := "active"
	if x.Deleted {
		stage = "deleted"
	}
	rows := [][]string{{"id", x.ID}, {"name", oneLine(x.Name)}, {"status", stage}}
	if len(x.Former) > 0 {
		rows = append(rows, []string{"former names", oneLine(strings.Join(x.Former, ", "))})
	}
	for _, tm := range []struct {
		label string
		at    time.Time
	}{{"created", x.Created}, {"updated", x.Updated}} {
		if !tm.at.IsZero() {
			rows = append(rows, []string{tm.label, tm.at.Local().Format("2006-01-02 15:04:05")})
		}
	}
	for _, k := range sortedKeys(x.Tags) {
		rows = append(rows, []string{"tag " + oneLine(k), oneLine(x.Tags[k])})
	}
	table(e.stdout, rows)
	return nil
}

type experimentCreateCmd struct {
	Name string   `arg:"" name:"NAME" help:"Its name: any text up to 250 bytes without control characters; spaces and slashes are fine."`
	Tag  []string `short:"t" sep:"none" placeholder:"KEY=VALUE" help:"Set a tag. Repeatable."`
	JSON bool     `name:"json" help:"Print the experiment as one JSON object instead of its id."`
}

func (c *experimentCreateCmd) Help() string {
	return `Creates experiment NAME under a new random id of 18 digits, as MLflow's
file store makes them, and prints the id. A name that an experiment
already has, or had before a rename (its runs still belong there), is
refused; so is one that runs already use, which is an experiment already
(git runs experiment ls shows it).

  git runs experiment create churn -t team=growth -t "goal=retain users"`
}

func (c *experimentCreateCmd) Run(e *env) error {
	tags, err := parseTags(c.Tag)
	if err != nil {
		return err
	}
	t, err := e.tracker()
	if err != nil {
		return err
	}
	x, err := t.CreateExperiment(e.ctx, c.Name, tags)
	if err != nil {
		return err
	}
	if c.JSON {
		return writeExperimentJSON(e.stdout, toJSON(x))
	}
	fmt.Fprintln(e.stdout, x.ID)
	return nil
}

type experimentRenameCmd struct {
	Spec string `arg:"" name:"ID|NAME" help:"The experiment."`
	Name string `arg:"" name:"NEWNAME" help:"Its new name."`
}

func (c *experimentRenameCmd) Help() string {
	return `Renames an experiment. Its id stays, and so do its runs: they name the
old name, which the experiment keeps as a former name, so that no other
experiment can take it. Renaming back to a former name is fine.

  git runs experiment rename churn churn-v2`
}

func (c *experimentRenameCmd) Run(e *env) error {
	return e.editExperiment(func(t *tracker.Tracker) (run.Experiment, error) {
		return t.RenameExperiment(e.ctx, c.Spec, c.Name)
	}, "renamed")
}

type experimentRmCmd struct {
	Spec string `arg:"" name:"ID|NAME" help:"The experiment."`
}

func (c *experimentRmCmd) Help() string {
	return `Deletes an experiment as MLflow's delete_experiment does: it is marked
deleted and left out of git runs experiment ls (--all shows it), but its
id, name and runs are kept, and restore brings it back. Default cannot be
deleted. To delete runs, use git runs rm.

  git runs experiment rm churn`
}

func (c *experimentRmCmd) Run(e *env) error {
	return e.editExperiment(func(t *tracker.Tracker) (run.Experiment, error) {
		return t.DeleteExperiment(e.ctx, c.Spec)
	}, "deleted")
}

type experimentRestoreCmd struct {
	Spec string `arg:"" name:"ID|NAME" help:"The experiment."`
}

func (c *experimentRestoreCmd) Help() string {
	return `Brings back an experiment deleted with git runs experiment rm.

  git runs experiment restore churn`
}

func (c *experimentRestoreCmd) Run(e *env) error {
	return e.editExperiment(func(t *tracker.Tracker) (run.Experiment, error) {
		return t.RestoreExperiment(e.ctx, c.Spec)
	}, "restored")
}

type experimentTagCmd struct {
	Spec   string   `arg:"" name:"ID|NAME" help:"The experiment."`
	Tags   []string `arg:"" optional:"" name:"KEY=VALUE" help:"Tags to set; an existing tag is replaced."`
	Remove []string `short:"d" placeholder:"KEY" help:"Remove the tag KEY (repeatable)."`
}

func (c *experimentTagCmd) Help() string {
	return `Sets tags of an experiment, or removes them with -d. Tag keys follow
the rules of run tags. When clones tag one experiment differently, the
later edit wins once they exchange it.

  git runs experiment tag churn team=growth stage=prod
  git runs experiment tag churn -d stage`
}

func (c *experimentTagCmd) Run(e *env) error {
	tags, err := parseTags(c.Tags)
	if err != nil {
		return err
	}
	return e.editExperiment(func(t *tracker.Tracker) (run.Experiment, error) {
		return t.TagExperiment(e.ctx, c.Spec, tags, c.Remove)
	}, "tagged")
}

// editExperiment opens the tracker, makes an edit, and says what became
// of which experiment.
func (e *env) editExperiment(edit func(*tracker.Tracker) (run.Experiment, error), done string) error {
	t, err := e.tracker()
	if err != nil {
		return err
	}
	x, err := edit(t)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s experiment %s (%s)\n", done, x.ID, oneLine(x.Name))
	return nil
}
