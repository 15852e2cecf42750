package main

import (
	"errors"
	"fmt"

	"github.com/gitruns/gitruns/run/tracker"
)

type rmCmd struct {
	Runs   []string `arg:"" optional:"" name:"RUN" help:"Runs to delete."`
	Where  string   `placeholder:"EXPR" help:"Delete the runs matching EXPR too (see git runs ls --help)."`
	Force  bool     `short:"f" help:"Delete runs that are still being recorded too: their recording stops."`
	Remote string   `placeholder:"REMOTE" help:"Delete the runs on REMOTE as well."`
	DryRun bool     `short:"n" help:"Print the runs that would be deleted, and delete nothing."`
}

func (c *rmCmd) Help() string {
	return `Deletes the refs of runs, leaving for each a small tombstone
(refs/runs-deleted/<id>) that git runs push and fetch carry, so that a
run deleted here is deleted on every clone it reaches rather than brought
back by a teammate's next push. With --remote, the runs are deleted
there at once as well.

The objects of a deleted run stay until git gc prunes them (two weeks by
default), so a run deleted by mistake comes back with
  git update-ref -d refs/runs-deleted/<id>
  git update-ref refs/runs/<id> <commit>
using the id and commit that rm printed (on a clone that did not push
the tombstone yet).`
}

func (c *rmCmd) Run(e *env) error {
	if len(c.Runs) == 0 && c.Where == "" {
		return errors.New("rm: name the runs to delete, or select them with --where")
	}
	t, rs, err := e.runs()
	if err != nil {
		return err
	}
	// Resolve every name before deleting anything, so that one bad name
	// changes nothing.
	chosen, err := rs.SelectToDelete(c.Runs, c.Where)
	if err != nil {
		return err
	}
	targets, err := tracker.Deletable(chosen, c.Force)
	if err != nil {
		return err
	}
	if c.DryRun {
		for _, r := range targets {
			fmt.Fprintf(e.stdout, "would delete %s (%s), at %s\n", r.ID, rmLabel(r), orDash(r.Commit))
		}
		return nil
	}
	if c.Remote == "" {
		deleted, err := t.Delete(e.ctx, targets, c.Force)
		printDeleted(e, deleted)
		return err
	}
	deleted, rep, err := t.DeleteRemote(e.ctx, c.Remote, targets, c.Force)
	printDeleted(e, deleted)
	if err != nil {
		return err
	}
	return reportPush(e, c.Remote, rep, "deleted")
}

func printDeleted(e *env, deleted []tracker.Run) {
	for _, r := range deleted {
		fmt.Fprintf(e.stdout, "deleted %s (%s), was %s\n", r.ID, rmLabel(r), orDash(r.Commit))
	}
}

// rmLabel is what rm prints in parentheses after a run's id: its name, or
// "unreadable" for a run whose record could not be read.
func rmLabel(r tracker.Run) string {
	if r.Record == nil {
		return "unreadable"
	}
	return r.Record.Name
}
