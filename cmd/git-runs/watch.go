package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/gitruns/gitruns/run"
	"github.com/gitruns/gitruns/run/tracker"
)

type watchCmd struct {
	Target   string        `arg:"" optional:"" name:"RUN" help:"Run to follow (default: the newest running run)."`
	Interval time.Duration `default:"500ms" help:"How often to look for news."`
}

func (c *watchCmd) Help() string {
	return `Follows a run being recorded on this machine: prints its output as it
comes, and on standard error the latest value of each metric when they
change, until the run ends. On a terminal, a progress bar the command
redraws is drawn live, though the run stores only its final state, and
the metric lines never land inside it.

  git runs watch
  git runs watch brave-otter-42`
}

func (c *watchCmd) Run(e *env) error {
	t, rs, err := e.runs()
	if err != nil {
		return err
	}
	var en tracker.Run
	if c.Target == "" {
		found := false
		for _, x := range rs.All {
			if x.Record.Status == run.Running {
				en, found = x, true
				break
			}
		}
		if !found {
			return fmt.Errorf("no run is running; name one to follow")
		}
	} else if en, err = rs.Resolve(c.Target); err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(e.ctx, os.Interrupt)
	defer stop()
	v := newWatchView(e)
	defer v.end()
	last := map[string]int64{}
	fmt.Fprintf(e.stderr, "git-runs: watching %s (%s)\n", short(en.ID), en.Record.Name)
	return t.Follow(ctx, en, c.Interval, func(ev tracker.Event) error {
		if ev.Skipped > 0 {
			v.aside(func() { fmt.Fprintf(e.stderr, "git-runs: [%d bytes of output went by]\n", ev.Skipped) })
		}
		v.show(ev.Output, ev.Line)
		if ev.Record != nil {
			if line := metricNews(ev.Record, last); line != "" {
				v.aside(func() { fmt.Fprintf(e.stderr, "git-runs: %s\n", line) })
			}
		}
		if ev.Ended && ev.Record != nil {
			rec := ev.Record
			status := string(rec.Status)
			if rec.ExitCode != nil {
				status += fmt.Sprintf(" (exit %d)", *rec.ExitCode)
			}
			v.aside(func() {
				fmt.Fprintf(e.stderr, "git-runs: run %s (%s) %s after %s\n", short(rec.ID), rec.Name, status, span(rec.Duration(time.Now())))
			})
		}
		return nil
	})
}

// A watchView replays a run's output as the run's output log stores it,
// with the line the command is redrawing (a progress bar, which the log
// stores once, in its last state) drawn live on a terminal. git-runs'
// own lines (metrics as they change) go to standard error; where that
// shows in the same place as standard output, they must not land inside
// a line of the output: a bar drawn live is cleared first and drawn
// again after, and a line left unfinished is ended.
type watchView struct {
	out *bufio.Writer // the output, through a termWriter on a terminal
	// tty is standard output when it is a terminal, for git-runs' own
	// controls (which a termWriter would show as text); nil otherwise,
	// and then no live line is drawn: a file or pipe gets the stored
	// output exactly.
	tty    io.Writer
	ow     *termWriter // the termWriter on the terminal, to End
	shared bool        // standard error shows where standard output does
	drawn  []byte      // the live line on the terminal; nil when none
	mid    bool        // the output shown ends inside a line
}

func newWatchView(e *env) *watchView {
	v := &watchView{}
	var stdout io.Writer = e.stdout
	if e.ttyOut != nil {
		// The run's output is a program's, replayed: its progress bars
		// and plain colours are kept, nothing that hides text.
		v.ow = newOutputWriter(e.ttyOut, e.color)
		stdout, v.tty = v.ow, e.ttyOut
		v.shared = e.ttyErr != nil && sameFile(e.ttyOut, e.ttyErr)
	} else {
		v.shared = sameFile(e.stdout, e.stderr)
	}
	v.out = bufio.NewWriter(stdout)
	return v
}

// show writes output, the stored output that came since the last call,
// and draws line, the live line, on a terminal.
func (v *watchView) show(output, line []byte) {
	if v.tty == nil || v.mid {
		line = nil
	}
	if len(output) == 0 && (line == nil || bytes.Equal(line, v.drawn)) {
		return
	}
	// The stored output starts with the final state of the line drawn,
	// which may be shorter: the drawn one is cleared first.
	v.clear()
	if len(output) > 0 {
		v.out.Write(output)
		v.mid = output[len(output)-1] != '\n'
	}
	if line != nil && !v.mid {
		v.out.Write(line)
		v.drawn = append(v.drawn[:0], line...)
	}
	v.out.Flush()
}

// clear takes the live line off the terminal.
func (v *watchView) clear() {
	if v.drawn == nil {
		return
	}
	v.out.Flush()
	io.WriteString(v.tty, "\r\x1b[K")
	v.drawn = nil
}

// aside runs f, which writes a line of git-runs' own to standard error,
// between lines of the output.
func (v *watchView) aside(f func()) {
	if !v.shared {
		f()
		return
	}
	line := v.drawn
	v.clear()
	if v.mid {
		v.out.WriteString("\n")
		v.mid = false
	}
	v.out.Flush()
	f()
	if line != nil {
		v.out.Write(line)
		v.drawn = line
		v.out.Flush()
	}
}

// end leaves the terminal on a line of its own, after a live line or an
// unfinished one.
func (v *watchView) end() {
	if v.tty != nil && (v.drawn != nil || v.mid) {
		v.out.WriteString("\n")
	}
	v.out.Flush()
	if v.ow != nil {
		v.ow.End()
	}
}

// sameFile reports whether a and b are one open file (a terminal, or a
// file after 2>&1).
func sameFile(a, b io.Writer) bool {
	fa, ok1 := a.(*os.File)
	fb, ok2 := b.(*os.File)
	if !ok1 || !ok2 {
		return false
	}
	sa, err1 := fa.Stat()
	sb, err2 := fb.Stat()
	return err1 == nil && err2 == nil && os.SameFile(sa, sb)
}

// metricNews describes the metrics that have new points since last, and
// updates last.
func metricNews(rec *run.Record, last map[string]int64) string {
	var parts []string
	for _, k := range sortedKeys(rec.Metrics) {
		m := rec.Metrics[k]
		if m.Count != last[k] {
			parts = append(parts, fmt.Sprintf("%s=%s", k, run.FormatMetric(m.Last)))
			last[k] = m.Count
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return strings.Join(parts, "  ")
}
