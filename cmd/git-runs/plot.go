package main

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"golang.org/x/term"

	"github.com/gitruns/gitruns/run"
	"github.com/gitruns/gitruns/run/tracker"
)

type plotCmd struct {
	Metric string   `arg:"" name:"METRIC" help:"Metric whose history to draw."`
	Runs   []string `arg:"" optional:"" name:"RUN" help:"Runs to draw (default: the 5 newest runs with METRIC)."`
	Where  string   `placeholder:"EXPR" help:"Draw the runs matching EXPR."`
	Width  int      `help:"Width in characters (default: the terminal's, else 80)."`
	Height int      `default:"20" help:"Height of the plot area in lines."`
	Log    bool     `help:"Use a logarithmic value axis (for losses falling by orders of magnitude); values of 0 or less are left out."`
}

func (c *plotCmd) Help() string {
	return `Draws a metric's history, step by value, for several runs in the terminal:
a mark per point and dots between the points of a run, in a colour per
run on a terminal, with a legend.

  git runs plot loss @ @~1 @~2
  git runs plot val/acc --where "params.model = 'rf'"
  git runs plot loss --log`
}

// plotMarks tell the runs apart without colour; plotColours with it.
var (
	plotMarks   = []rune{'●', '+', 'x', 'o', '*', '#', '@', '%', '&', '=', '~', '^'}
	plotColours = []string{"36", "33", "35", "32", "34", "31", "96", "93", "95", "92", "94", "91"}
)

// plotSeries is one run's points to draw.
type plotSeries struct {
	en  tracker.Run
	pts []run.Point
}

func (c *plotCmd) Run(e *env) error {
	t, rs, err := e.runs()
	if err != nil {
		return err
	}
	picked, err := rs.Select(c.Runs, c.Where)
	if err != nil {
		return err
	}
	if err := e.explain(rs, tracker.Query{Where: c.Where}); err != nil {
		return err
	}
	if len(c.Runs) == 0 && c.Where == "" {
		for _, en := range rs.All {
			if _, ok := en.Record.Metrics[c.Metric]; ok && len(picked) < 5 {
				picked = append(picked, en)
			}
		}
	}
	if len(picked) > len(plotMarks) {
		picked = picked[:len(plotMarks)]
	}
	var ss []plotSeries
	for _, en := range picked {
		h, err := t.History(e.ctx, en)
		if err != nil {
			return err
		}
		if pts := h[c.Metric]; len(pts) > 0 {
			ss = append(ss, plotSeries{en, pts})
		}
	}
	if len(ss) == 0 {
		return fmt.Errorf("no run to draw has metric %q", c.Metric)
	}
	width := c.Width
	if width <= 0 {
		width = 80
		if e.ttyOut != nil {
			if w, _, err := term.GetSize(int(e.ttyOut.Fd())); err == nil && w > 20 {
				width = w
			}
		}
	}
	p := painter(e.color)
	chart, err := drawPlot(ss, width, max(c.Height, 4), c.Log, p)
	if err != nil {
		return err
	}
	title := c.Metric
	if c.Log {
		title += " (log scale)"
	}
	fmt.Fprintf(e.stdout, "%s\n%s", p.paint("1", title), chart)
	for si, s := range ss {
		m := s.en.Record.Metrics[c.Metric]
		fmt.Fprintf(e.stdout, "  %s %s %s  last %s\n", p.paint(plotColours[si], string(plotMarks[si])), rs.Abbrev(s.en.ID), s.en.Record.Name, run.FormatMetric(m.Last))
	}
	return nil
}

// drawPlot draws the series, step by value, in width characters and
// height lines of plot area plus the axes.
func drawPlot(ss []plotSeries, width, height int, logScale bool, p painter) (string, error) {
	// value maps a point to the axis, or reports it cannot be drawn.
	value := func(v float64) (float64, bool) {
		if math.IsNaN(v) || math.IsInf(v, 0) || (logScale && v <= 0) {
			return 0, false
		}
		if logScale {
			return math.Log10(v), true
		}
		return v, true
	}
	minS, maxS := int64(math.MaxInt64), int64(math.MinInt64)
	minV, maxV := math.Inf(1), math.Inf(-1)
	for _, s := range ss {
		for _, pt := range s.pts {
			v, ok := value(pt.Value)
			if !ok {
				continue
			}
			minS, maxS = min(minS, pt.Step), max(maxS, pt.Step)
			minV, maxV = math.Min(minV, v), math.Max(maxV, v)
		}
	}
	if math.IsInf(minV, 1) {
		if logScale {
			return "", errors.New("plot: no values above 0 to draw on a log scale")
		}
		return "", errors.New("plot: no finite values to draw")
	}
	if maxV == minV {
		maxV, minV = maxV+0.5, minV-0.5
	}
	if maxS == minS {
		maxS++
	}
	label := func(v float64) string {
		if logScale {
			v = math.Pow(10, v)
		}
		return run.FormatMetric(v)
	}
	// Labels at the top, middle and bottom lines, for the values there.
	midRow := height / 2
	midV := maxV - (maxV-minV)*float64(midRow)/float64(height-1)
	labelW := max(len(label(maxV)), len(label(minV)), len(label(midV)))
	plotW := max(width-labelW-3, 10)
	type cell struct {
		r      rune
		series int
	}
	grid := make([][]cell, height)
	for i := range grid {
		grid[i] = make([]cell, plotW)
	}
	col := func(step int64) int { return int(float64(step-minS) / float64(maxS-minS) * float64(plotW-1)) }
	row := func(v float64) int { return height - 1 - int((v-minV)/(maxV-minV)*float64(height-1)+0.5) }
	for si, s := range ss {
		// Dots first, along the line between one drawn point and the
		// next, where no mark is; then the marks over them.
		px, py, have := 0, 0, false
		var marks [][2]int
		for _, pt := range s.pts {
			v, ok := value(pt.Value)
			if !ok {
				continue
			}
			x, y := col(pt.Step), row(v)
			if have && (x != px || y != py) {
				n := max(absInt(x-px), absInt(y-py))
				for k := 1; k < n; k++ {
					cx := px + (x-px)*k/n
					cy := py + int(math.Round(float64((y-py)*k)/float64(n)))
					if grid[cy][cx].r == 0 {
						grid[cy][cx] = cell{'·', si}
					}
				}
			}
			marks = append(marks, [2]int{x, y})
			px, py, have = x, y, true
		}
		for _, m := range marks {
			grid[m[1]][m[0]] = cell{plotMarks[si], si}
		}
	}
	var b strings.Builder
	for i, line := range grid {
		l := ""
		switch i {
		case 0:
			l = label(maxV)
		case midRow:
			l = label(midV)
		case height - 1:
			l = label(minV)
		}
		end := len(line)
		for end > 0 && line[end-1].r == 0 {
			end--
		}
		fmt.Fprintf(&b, "%*s ┤", labelW, l)
		for _, c := range line[:end] {
			if c.r == 0 {
				b.WriteByte(' ')
				continue
			}
			b.WriteString(p.paint(plotColours[c.series], string(c.r)))
		}
		b.WriteByte('\n')
	}
	fmt.Fprintf(&b, "%*s └%s\n", labelW, "", strings.Repeat("─", plotW))
	first, last := fmt.Sprint(minS), fmt.Sprint(maxS)
	gap := max(plotW-len(first)-len(last), 1)
	fmt.Fprintf(&b, "%*s  %s%s%s  %s\n", labelW, "", first, strings.Repeat(" ", gap), last, p.dim("step"))
	return b.String(), nil
}

func absInt(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
