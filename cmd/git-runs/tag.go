package main

import (
	"errors"
	"os"

	"github.com/gitruns/gitruns/run"
)

type tagCmd struct {
	Target string   `name:"run" placeholder:"RUN" help:"Run to tag (default: GITRUNS_RUN)."`
	Tags   []string `arg:"" name:"KEY=VALUE" help:"Tags to set; an existing tag is replaced."`
}

func (c *tagCmd) Help() string {
	return `Tags are free-form strings. Unlike params and metrics they can change
after the run ended.

  git runs tag --run @ verdict=baseline`
}

func (c *tagCmd) Run(e *env) error {
	tags, err := parseTags(c.Tags)
	if err != nil {
		return err
	}
	spec := c.Target
	if spec == "" {
		spec = os.Getenv("GITRUNS_RUN")
	}
	r, err := e.attach(spec)
	if err == nil {
		for _, k := range sortedKeys(tags) {
			if err := r.SetTag(k, tags[k]); err != nil {
				return closeAfter(r, err)
			}
		}
		return closeAfter(r, nil)
	}
	if spec == "" {
		return err
	}
	// Not live here: a finished run's tags are amended in place.
	repo, en, rerr := e.resolve(spec)
	if rerr != nil {
		return rerr
	}
	if en.Record.Status == run.Running {
		return err
	}
	return repo.Amend(en.ID, func(rec *run.Record) error {
		if rec.Status == run.Running {
			return errors.New("run is live again")
		}
		for k, v := range tags {
			rec.Tags[k] = v
		}
		return nil
	})
}
