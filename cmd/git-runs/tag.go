package main

import "errors"

type tagCmd struct {
	Target string   `name:"run" placeholder:"RUN" help:"Run to tag (default: GITRUNS_RUN)."`
	Tags   []string `arg:"" optional:"" name:"KEY=VALUE" help:"Tags to set; an existing tag is replaced."`
	Remove []string `short:"d" placeholder:"KEY" help:"Remove the tag KEY (repeatable)."`
}

func (c *tagCmd) Help() string {
	return `Tags are free-form strings. Unlike params they can change after the run
ended (a tag edit replaces the run's last commit; metrics and artifacts
added later make a new one on top of it). Each edit, removals too, carries its time: when
clones that edited the same run exchange it, the later edit of each tag
wins, so edits made on both sides are all kept.

  git runs tag --run @ verdict=baseline
  git runs tag --run @ -d verdict`
}

func (c *tagCmd) Run(e *env) error {
	if len(c.Tags) == 0 && len(c.Remove) == 0 {
		return errors.New("tag: give KEY=VALUE tags to set, or -d KEY to remove")
	}
	tags, err := parseTags(c.Tags)
	if err != nil {
		return err
	}
	spec, err := target(c.Target)
	if err != nil {
		return err
	}
	t, err := e.tracker()
	if err != nil {
		return err
	}
	return t.EditTags(e.ctx, spec, tags, c.Remove)
}
