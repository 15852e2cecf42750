package main

import (
	"errors"
	"fmt"
	"os"
)

type artifactCmd struct {
	Target string   `name:"run" placeholder:"RUN" help:"Run to store the files with (default: GITRUNS_RUN)."`
	As     string   `placeholder:"PATH" help:"Path under artifacts/ to store a single file or directory at (default: its base name)."`
	Paths  []string `arg:"" name:"PATH" help:"Files or directories to store."`
}

func (c *artifactCmd) Help() string {
	return `Stores files in the run's commit under artifacts/, so they travel with the
run. Meant for small outputs: plots, configs, metrics files, small models.

  git runs artifact confusion.png model.json`
}

func (c *artifactCmd) Run(e *env) error {
	if c.As != "" && len(c.Paths) > 1 {
		return errors.New("artifact: --as takes a single PATH")
	}
	for _, p := range c.Paths {
		if _, err := os.Stat(p); err != nil {
			return fmt.Errorf("artifact: %w", err)
		}
	}
	r, err := e.attach(c.Target)
	if err != nil {
		return err
	}
	for _, p := range c.Paths {
		if err := r.LogArtifact(p, c.As); err != nil {
			return closeAfter(r, err)
		}
	}
	return closeAfter(r, nil)
}
