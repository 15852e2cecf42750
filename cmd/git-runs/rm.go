package main

import (
	"errors"
	"fmt"

	"github.com/gitruns/gitruns/gitstore"
	"github.com/gitruns/gitruns/run/live"
)

type rmCmd struct {
	Runs   []string `arg:"" optional:"" name:"RUN" help:"Runs to delete."`
	Where  string   `placeholder:"EXPR" help:"Delete the runs matching EXPR too (see git runs ls --help)."`
	Force  bool     `short:"f" help:"Delete runs that are still being recorded too."`
	Remote string   `placeholder:"REMOTE" help:"Delete the runs on REMOTE as well."`
	DryRun bool     `short:"n" help:"Print the runs that would be deleted, and delete nothing."`
}

func (c *rmCmd) Help() string {
	return `Deletes the refs of runs. Their objects stay until git gc prunes them
(two weeks by default), so a run deleted by mistake comes back with
  git update-ref refs/runs/<id> <commit>
using the id and commit that rm printed.`
}

func (c *rmCmd) Run(e *env) error {
	repo, all, err := e.runs()
	if err != nil {
		return err
	}
	alive := map[string]bool{} // runs with a journal here: whether their owner lives
	for id, l := range e.live {
		alive[id] = l.Alive
	}
	// Resolve every name before deleting anything, so that one bad name
	// changes nothing.
	chosen, err := selectRuns(all, c.Runs, c.Where)
	if err != nil {
		return err
	}
	if len(c.Runs) == 0 && c.Where == "" {
		return errors.New("rm: name the runs to delete, or select them with --where")
	}
	var targets []gitstore.Entry
	seen := map[string]bool{}
	for _, en := range chosen {
		if alive[en.ID] && !c.Force {
			return fmt.Errorf("run %s (%s) is still running; end it first, or use --force", short(en.ID), en.Record.Name)
		}
		if !seen[en.ID] {
			seen[en.ID] = true
			targets = append(targets, en)
		}
	}
	if c.DryRun {
		for _, en := range targets {
			fmt.Fprintf(e.stdout, "would delete %s (%s), at %s\n", en.ID, en.Record.Name, en.Commit)
		}
		return nil
	}
	if c.Remote != "" {
		refs := make([]string, len(targets))
		for i, en := range targets {
			refs[i] = gitstore.RefName(en.ID)
		}
		res, err := repo.DeleteRemote(c.Remote, refs)
		if err != nil {
			return err
		}
		if err := reportPush(e, c.Remote, res, "deleted"); err != nil {
			return err
		}
	}
	for _, en := range targets {
		if _, ok := alive[en.ID]; ok {
			if err := live.Discard(repo, en.ID); err != nil {
				return err
			}
		}
		if err := repo.Delete(en.ID, en.Commit.String()); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "deleted %s (%s), was %s\n", en.ID, en.Record.Name, en.Commit)
	}
	return nil
}
