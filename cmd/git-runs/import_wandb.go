package main

import (
	"fmt"

	"github.com/gitruns/gitruns/run/importer"
	"github.com/gitruns/gitruns/run/importer/wandb"
)

type importWandbCmd struct {
	Dir            string   `arg:"" name:"DIR" type:"path" help:"The directory holding W&B's runs: wandb/, the directory above it, or one run's directory."`
	DryRun         bool     `short:"n" help:"Read the runs and list what would be imported, and import nothing."`
	JSON           bool     `name:"json" help:"Print what was done as one JSON object, for scripts."`
	Project        []string `placeholder:"NAME" help:"Import only the runs of this W&B project (again for more)."`
	IncludeRemoved bool     `help:"Import again the runs imported before and removed here since with git runs rm (left out otherwise)."`
	MaxArtifact    string   `placeholder:"SIZE" default:"100M" help:"Copy files up to SIZE (such as 100M, 2G); larger ones are listed by reference."`
}

func (c *importWandbCmd) Help() string {
	return `Reads the run directories W&B writes in offline mode (WANDB_MODE=offline
leaves them in wandb/offline-run-YYYYMMDD_HHMMSS-<id>/, and synced runs
in wandb/run-*), and records each run as a git-runs run that has ended,
in the experiment named after its W&B project:

  params     files/config.yaml, each key's value (W&B's _wandb left out);
             nested values as dotted params (model.layers)
  metrics    every number of the history, at its _step and _timestamp:
             files/wandb-history.jsonl when there is one, else the
             history records of the run's record log, run-<id>.wandb
  name       the run's display name, project, tags, notes, group and
             exit status, from the record log
  tags       program, arguments, git commit and remote, host and user
             from files/wandb-metadata.json (wandb.* and mlflow.source.*)
  output     files/output.log, what the run printed, as git runs exec
             keeps a command's: git runs log and show --output show it
  artifacts  every other file under files/: config.yaml,
             requirements.txt, media

A run with no history file and no readable record log keeps only its
summary's last values (files/wandb-summary.json), and says so on standard
error and in tag wandb.import.history. A run whose record log has no exit
record was killed (crashed here), unless the log was written in the last
minute: it is left for a later import, as it may still be running.

Each run keeps its W&B id in tag wandb.runId: importing again adds only
what is new. A run imported and then removed here with git runs rm is
not imported again unless --include-removed. Every file that cannot be read is named on standard error,
one line each, and the rest is imported; the exit status is then 1.

  git runs import wandb wandb --dry-run
  git runs import wandb . --project churn`
}

func (c *importWandbCmd) Run(e *env) error {
	maxArt, err := parseSize(c.MaxArtifact)
	if err != nil {
		return fmt.Errorf("--max-artifact: %w", err)
	}
	t, err := e.tracker()
	if err != nil {
		return err
	}
	src, err := wandb.Open(c.Dir)
	if err != nil {
		return err
	}
	o := importer.Options{Experiments: c.Project, DryRun: c.DryRun, MaxArtifact: maxArt, IncludeRemoved: c.IncludeRemoved}
	return runImport(e, t, src, o, c.JSON, "W&B")
}
