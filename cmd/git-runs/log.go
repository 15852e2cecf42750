package main

import (
	"bytes"
	"fmt"
	"io"
)

type logCmd struct {
	Target string `arg:"" name:"RUN" default:"@" help:"Run whose output to print (default: the newest)."`
	Tail   int    `short:"n" placeholder:"N" help:"Print only the last N lines."`
}

func (c *logCmd) Help() string {
	return `Prints what a run's command printed, standard output and error as they
came, from its commit (or, while it is recorded on this machine, up to
now). On a terminal it goes through your pager, as git log does; colours
the command printed are kept. Output beyond the recorded limit was cut
in the middle, where a line says how much went.

  git runs log @
  git runs log brave-otter-42 -n 50
  git runs watch               # follow a run's output while it runs`
}

func (c *logCmd) Run(e *env) error {
	t, r, err := e.resolve(c.Target)
	if err != nil {
		return err
	}
	out, err := t.OutputSoFar(e.ctx, r)
	if err != nil {
		return err
	}
	if len(out) == 0 {
		e.warn("run %s (%s) has no output recorded", short(r.ID), r.Record.Name)
		return nil
	}
	if c.Tail > 0 {
		out, _ = lastLines(out, c.Tail)
	}
	_, err = e.programOutput().Write(out)
	return err
}

// programOutput is where a run's recorded output goes: through the pager
// on a terminal, its colours kept, nothing that hides text passed on.
func (e *env) programOutput() io.Writer {
	e.page()
	switch {
	case e.pagerIn != nil:
		return newOutputWriter(e.pagerIn, e.color)
	case e.ttyOut != nil:
		return newOutputWriter(e.ttyOut, e.color)
	}
	return e.stdout
}

// lastLines returns the last n lines of out, and how many lines came
// before them.
func lastLines(out []byte, n int) ([]byte, int) {
	body := bytes.TrimSuffix(out, []byte("\n"))
	lines := bytes.Count(body, []byte("\n")) + 1
	if lines <= n {
		return out, 0
	}
	i := len(body)
	for k := 0; k < n; k++ {
		i = bytes.LastIndexByte(body[:i], '\n')
	}
	return out[i+1:], lines - n
}

// outputSection writes the end of a run's output under show's heading.
func outputSection(w io.Writer, p painter, out []byte, id string) {
	fmt.Fprintf(w, "\n%s\n", p.paint("1", "output"))
	if len(out) == 0 {
		fmt.Fprintln(w, p.dim("  (none recorded)"))
		return
	}
	tail, before := lastLines(out, showOutputLines)
	if before > 0 {
		fmt.Fprintln(w, p.dim(fmt.Sprintf("  … %d lines before (git runs log %s)", before, short(id))))
	}
	w.Write(tail)
	if tail[len(tail)-1] != '\n' {
		fmt.Fprintln(w)
	}
}

// showOutputLines is how much of the output show --output prints: what
// a run said last, which is why one looks.
const showOutputLines = 20
