package main

import (
	"fmt"
)

type checkoutCmd struct {
	Target string `arg:"" name:"RUN" help:"Run whose source to check out."`
	Branch string `short:"b" placeholder:"BRANCH" help:"Create BRANCH at the run's source (its snapshot commit when the run had uncommitted changes) and switch to it."`
	Force  bool   `short:"f" help:"Discard uncommitted changes in the work tree instead of refusing."`
}

func (c *checkoutCmd) Help() string {
	return `Puts the exact source a run ran into the work tree: HEAD moves to the run's
code commit, and the uncommitted changes it ran with (modified, deleted and
untracked files) are restored as uncommitted changes. With -b, a branch is
created at that source instead, the uncommitted changes committed in it.
Refuses, changing nothing, when the work tree has uncommitted changes,
unless --force.

  git runs checkout brave-otter-42
  git runs checkout @ -b try-again`
}

func (c *checkoutCmd) Run(e *env) error {
	t, en, err := e.resolve(c.Target)
	if err != nil {
		return err
	}
	src := en.Record.Source
	if err := t.Checkout(e.ctx, en, c.Branch, c.Force); err != nil {
		return err
	}
	what := "commit " + shortHash(src.Commit)
	if src.Commit == "" {
		what = "its files"
	}
	switch {
	case c.Branch != "":
		fmt.Fprintf(e.stdout, "switched to new branch %s at the source of run %s (%s)\n", c.Branch, short(en.ID), en.Record.Name)
	case src.Dirty:
		fmt.Fprintf(e.stdout, "checked out the source of run %s (%s): %s with its uncommitted changes\n", short(en.ID), en.Record.Name, what)
	default:
		fmt.Fprintf(e.stdout, "checked out the source of run %s (%s): %s\n", short(en.ID), en.Record.Name, what)
	}
	return nil
}
