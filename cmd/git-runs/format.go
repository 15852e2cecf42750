package main

import (
	"cmp"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/term"

	"github.com/gitruns/gitruns/run"
	"github.com/gitruns/gitruns/run/tracker"
)

// Output rules: tables and records go to stdout; errors and warnings go to
// stderr as one line each, prefixed "git-runs: ", lower case. Colour only
// when stdout is a terminal and NO_COLOR is unset.

func sortedKeys[M ~map[K]V, K cmp.Ordered, V any](m M) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// terminal returns w as a file when it is a terminal, else nil.
func terminal(w io.Writer) *os.File {
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return f
	}
	return nil
}

func colorOn(w io.Writer) bool {
	if os.Getenv("NO_COLOR") != "" || os.Getenv("TERM") == "dumb" {
		return false
	}
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// painter colours git-runs' own words when colour is on, with sequences
// marked as its own: termWriter shows any other escape as text.
type painter bool

func (p painter) paint(code, s string) string {
	if !p || s == "" {
		return s
	}
	return ownSGR(code) + s + ownSGR("0")
}

func (p painter) status(s run.Status) string {
	switch s {
	case run.Running:
		return p.paint("33", string(s))
	case run.Finished:
		return p.paint("32", string(s))
	case run.Failed, run.Crashed:
		return p.paint("31", string(s))
	case run.Killed:
		return p.paint("35", string(s))
	case run.Stale:
		return p.paint("2;33", string(s))
	}
	return string(s)
}

// runStatus is a run's status, with the age of its last checkpoint when
// the run is stale.
func (p painter) runStatus(r tracker.Run) string {
	s := p.status(r.Record.Status)
	if r.StaleFor > 0 {
		s += p.dim(" " + span(r.StaleFor.Truncate(time.Second)))
	}
	return s
}

func (p painter) dim(s string) string { return p.paint("2", s) }

// ago renders how long before now t was, the way people say it.
func ago(t, now time.Time) string {
	d := now.Sub(t)
	switch {
	case d < 0:
		return t.Local().Format("2006-01-02 15:04")
	case d < 10*time.Second:
		return "just now"
	case d < time.Minute:
		return fmt.Sprintf("%ds ago", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh ago", int(d.Hours()))
	case d < 30*24*time.Hour:
		return fmt.Sprintf("%dd ago", int(d.Hours()/24))
	}
	return t.Local().Format("2006-01-02")
}

// span renders a duration with the precision that matters at its size.
func span(d time.Duration) string {
	switch {
	case d < 0:
		return "-"
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%.1fs", d.Seconds())
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	case d < 100*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd%02dh", int(d.Hours()/24), int(d.Hours())%24)
}

func shortHash(h string) string {
	if len(h) > 7 {
		return h[:7]
	}
	return h
}

// sparkline draws values as a row of block characters, at most width wide.
func sparkline(pts []run.Point, width int) string {
	if len(pts) == 0 {
		return ""
	}
	vals := make([]float64, 0, width)
	if len(pts) <= width {
		for _, p := range pts {
			vals = append(vals, p.Value)
		}
	} else {
		// Each cell shows the mean of its share of the points.
		for i := 0; i < width; i++ {
			lo, hi := i*len(pts)/width, (i+1)*len(pts)/width
			sum, n := 0.0, 0
			for _, p := range pts[lo:hi] {
				if p.Value == p.Value && p.Value-p.Value == 0 { // finite
					sum += p.Value
					n++
				}
			}
			if n == 0 {
				vals = append(vals, pts[lo].Value)
			} else {
				vals = append(vals, sum/float64(n))
			}
		}
	}
	lo, hi := 0.0, 0.0
	first := true
	for _, v := range vals {
		if v != v || v-v != 0 {
			continue
		}
		if first || v < lo {
			lo = v
		}
		if first || v > hi {
			hi = v
		}
		first = false
	}
	const bars = "▁▂▃▄▅▆▇█"
	blocks := []rune(bars)
	var b strings.Builder
	for _, v := range vals {
		switch {
		case v != v || v-v != 0:
			b.WriteRune('·')
		case hi == lo:
			b.WriteRune(blocks[3])
		default:
			b.WriteRune(blocks[int((v-lo)/(hi-lo)*float64(len(blocks)-1)+0.5)])
		}
	}
	return b.String()
}

// table writes rows with columns padded to their widest cell, measuring
// width as visible measures it.
func table(w io.Writer, rows [][]string) { fitTable(w, rows, 0) }

// fitTable is table with every line cut to width cells (0: no limit),
// so that none wraps on a terminal that wide.
func fitTable(w io.Writer, rows [][]string, width int) {
	var widths []int
	for _, r := range rows {
		for i, c := range r {
			if i >= len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], visible(c))
		}
	}
	var b strings.Builder
	for _, r := range rows {
		b.Reset()
		for i, c := range r {
			b.WriteString(c)
			if i < len(r)-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-visible(c)+2))
			}
		}
		line := strings.TrimRight(b.String(), " ")
		if width > 0 {
			line = clip(line, width)
		}
		fmt.Fprintln(w, line)
	}
}

// visible is the width s takes on a terminal: git-runs' own colours take
// none, and a control from a record takes the two cells termWriter shows
// it in.
func visible(s string) int {
	n := 0
	for i := 0; i < len(s); {
		if strings.HasPrefix(s[i:], "\x1b["+ownKey+";") {
			if j := strings.IndexByte(s[i:], 'm'); j >= 0 {
				i += j + 1
				continue
			}
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r < 0x20 || r == 0x7f:
			n += 2 // ^X
		case hidesText(r):
			n += 6 // \uXXXX
		default:
			n++
		}
	}
	return n
}

// width is how many cells wide a line of a table may be: COLUMNS when
// set, else the terminal's width, else 0 for no limit (a file or a pipe
// gets whole lines).
func (e *env) width() int {
	if n, err := strconv.Atoi(os.Getenv("COLUMNS")); err == nil && n > 0 {
		return n
	}
	if e.ttyOut != nil {
		if w, _, err := term.GetSize(int(e.ttyOut.Fd())); err == nil && w > 0 {
			return w
		}
	}
	return 0
}

// clip cuts s to at most w cells, as visible measures them, ending it
// with … when it had to be cut; git-runs' own colours are closed.
func clip(s string, w int) string {
	if visible(s) <= w {
		return s
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(s); {
		if strings.HasPrefix(s[i:], "\x1b["+ownKey+";") {
			if j := strings.IndexByte(s[i:], 'm'); j >= 0 {
				b.WriteString(s[i : i+j+1])
				i += j + 1
				continue
			}
		}
		_, size := utf8.DecodeRuneInString(s[i:])
		rw := visible(s[i : i+size])
		if n+rw > w-1 {
			break
		}
		b.WriteString(s[i : i+size])
		n += rw
		i += size
	}
	b.WriteString("…")
	if strings.Contains(s, "\x1b["+ownKey+";") {
		b.WriteString(ownSGR("0"))
	}
	return b.String()
}
