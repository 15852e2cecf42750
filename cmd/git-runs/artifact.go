package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// artifactCmd stores files with a run (its default, artifactLogCmd) or
// writes one back out (artifact get).
type artifactCmd struct {
	Log artifactLogCmd `cmd:"" default:"withargs" help:"Store files with a run (the default: git runs artifact FILE)."`
	Get artifactGetCmd `cmd:"" help:"Write a file stored with a run back out."`
}

func (c *artifactCmd) Help() string {
	return `Stores files in the run's commit under artifacts/, so they travel with the
run, and gets them back. Meant for small outputs: plots, configs, metrics
files, small models.

  git runs artifact confusion.png model.json
  git runs artifact get @ model.json -o model.json`
}

type artifactLogCmd struct {
	Target string   `name:"run" placeholder:"RUN" help:"Run to store the files with (default: GITRUNS_RUN); a run that has ended takes them as a new commit."`
	As     string   `placeholder:"PATH" help:"Path under artifacts/ to store a single file or directory at (default: its base name)."`
	Paths  []string `arg:"" name:"PATH" help:"Files or directories to store."`
}

func (c *artifactLogCmd) Help() string {
	return `Stores files in the run's commit under artifacts/, so they travel with the
run. Meant for small outputs: plots, configs, metrics files, small models.
A file at a path the run has already replaces it. A run that has ended
takes files too, as a new commit of the run on top of the one it ended
with, which stays in its history.

  git runs artifact confusion.png model.json
  git runs artifact --as configs/run.cfg run.cfg
  git runs artifact --run brave-otter-42 eval/report.json`
}

func (c *artifactLogCmd) Run(e *env) error {
	if c.As != "" && len(c.Paths) > 1 {
		return errors.New("artifact: --as takes a single PATH")
	}
	for _, p := range c.Paths {
		if _, err := os.Stat(p); err != nil {
			return fmt.Errorf("artifact: %w", err)
		}
	}
	l, err := e.logger(c.Target)
	if err != nil {
		return err
	}
	for _, p := range c.Paths {
		if err := l.LogArtifact(p, c.As); err != nil {
			return closeLogger(l, err)
		}
	}
	return closeLogger(l, nil)
}

type artifactGetCmd struct {
	Target string `arg:"" name:"RUN" help:"Run the file is stored with."`
	Path   string `arg:"" name:"PATH" help:"Its path under artifacts/, as git runs show lists it."`
	Out    string `short:"o" placeholder:"FILE" help:"Write it to FILE (- for standard output; default: its base name, here)."`
	Force  bool   `short:"f" help:"Replace FILE if it exists."`
	JSON   bool   `help:"Print what was written (path, bytes) as JSON."`
}

func (c *artifactGetCmd) Help() string {
	return `Writes a file stored with a run back out: to its base name in the current
directory, to FILE with -o, or to standard output with -o -. An existing
file is left alone unless --force; nothing is written when the run has no
such file, and a file written in part is removed.

  git runs artifact get @ model.json
  git runs artifact get brave-otter-42 plots/loss.png -o loss.png --force
  git runs artifact get @ config.json -o - | jq .`
}

func (c *artifactGetCmd) Run(e *env) error {
	t, r, err := e.resolve(c.Target)
	if err != nil {
		return err
	}
	dest := c.Out
	if dest == "" {
		dest = filepath.Base(filepath.FromSlash(c.Path))
	}
	if dest != "-" && !c.Force {
		if _, err := os.Lstat(dest); err == nil {
			return fmt.Errorf("artifact get: %s exists; pass --force to replace it", dest)
		}
	}
	src, err := t.OpenArtifact(e.ctx, r, c.Path)
	if err != nil {
		return fmt.Errorf("artifact get: %w", err)
	}
	defer src.Close()
	if dest == "-" {
		_, err := io.Copy(e.stdout, src)
		return err
	}
	n, err := writeFileFrom(dest, src)
	if err != nil {
		return fmt.Errorf("artifact get: %w", err)
	}
	if c.JSON {
		return json.NewEncoder(e.stdout).Encode(struct {
			Run   string `json:"run"`
			Path  string `json:"path"`
			File  string `json:"file"`
			Bytes int64  `json:"bytes"`
		}{r.ID, c.Path, dest, n})
	}
	e.warn("wrote %s (%d bytes) from run %s", dest, n, short(r.ID))
	return nil
}

// writeFileFrom writes src to path through a temporary file beside it,
// renamed into place once whole: a failed copy leaves nothing behind, and
// an existing file is replaced at once or not at all.
func writeFileFrom(path string, src io.Reader) (int64, error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*")
	if err != nil {
		return 0, fmt.Errorf("create file: %w", err)
	}
	n, err := io.Copy(tmp, src)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644&^umask(dir))
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return 0, fmt.Errorf("write %s: %w", path, err)
	}
	return n, nil
}

// umask guesses the bits a new file in dir would lose, from the
// directory's own mode: CreateTemp makes files 0600.
func umask(dir string) fs.FileMode {
	st, err := os.Stat(dir)
	if err != nil {
		return 0o022
	}
	return ^st.Mode().Perm() & 0o022
}
