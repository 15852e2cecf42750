package main

import "github.com/gitruns/gitruns/run/live"

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
	spec, err := target(c.Target)
	if err != nil {
		return err
	}
	t, err := e.tracker()
	if err != nil {
		return err
	}
	// A run that ended is tagged by amending its record, which does not
	// pass through live's redaction: secrets are taken out here.
	for k, v := range tags {
		tags[k] = live.RedactTag(k, v)
	}
	return t.Tag(e.ctx, spec, tags)
}
