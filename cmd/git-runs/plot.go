package main

import (
	"errors"
	"fmt"
	"math"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/gitruns/gitruns/gitstore"
	"github.com/gitruns/gitruns/run"
)

type plotCmd struct {
	Metric string   `arg:"" name:"METRIC" help:"Metric whose history to draw."`
	Runs   []string `arg:"" optional:"" name:"RUN" help:"Runs to draw (default: the 5 newest runs with METRIC)."`
	Where  string   `placeholder:"EXPR" help:"Draw the runs matching EXPR."`
	Width  int      `help:"Width in characters (default: the terminal's, else 80)."`
	Height int      `default:"20" help:"Height of the plot area in lines."`
}

func (c *plotCmd) Help() string {
	return `Draws a metric's history, step by value, for several runs in the terminal,
one mark per run with a legend.

  git runs plot loss @ @~1 @~2
  git runs plot val/acc --where "params.model = 'rf'"`
}

// plotMarks tell the runs apart without colour.
var plotMarks = []rune{'●', '+', 'x', 'o', '*', '#', '@', '%', '&', '=', '~', '^'}

func (c *plotCmd) Run(e *env) error {
	repo, all, err := e.runs()
	if err != nil {
		return err
	}
	picked, err := selectRuns(all, c.Runs, c.Where)
	if err != nil {
		return err
	}
	if len(c.Runs) == 0 && c.Where == "" {
		for _, en := range all {
			if _, ok := en.Record.Metrics[c.Metric]; ok && len(picked) < 5 {
				picked = append(picked, en)
			}
		}
	}
	if len(picked) > len(plotMarks) {
		picked = picked[:len(plotMarks)]
	}
	type series struct {
		en  gitstore.Entry
		pts []run.Point
	}
	var ss []series
	for _, en := range picked {
		h, err := repo.History(en.Commit)
		if err != nil {
			return err
		}
		if pts := h[c.Metric]; len(pts) > 0 {
			ss = append(ss, series{en, pts})
		}
	}
	if len(ss) == 0 {
		return fmt.Errorf("no run to draw has metric %q", c.Metric)
	}
	width := c.Width
	if width <= 0 {
		width = 80
		if f, ok := e.stdout.(*os.File); ok {
			if w, _, err := term.GetSize(int(f.Fd())); err == nil && w > 20 {
				width = w
			}
		}
	}
	height := max(c.Height, 4)
	minS, maxS := int64(math.MaxInt64), int64(math.MinInt64)
	minV, maxV := math.Inf(1), math.Inf(-1)
	for _, s := range ss {
		for _, p := range s.pts {
			if math.IsNaN(p.Value) || math.IsInf(p.Value, 0) {
				continue
			}
			minS, maxS = min(minS, p.Step), max(maxS, p.Step)
			minV, maxV = math.Min(minV, p.Value), math.Max(maxV, p.Value)
		}
	}
	if math.IsInf(minV, 1) {
		return errors.New("plot: no finite values to draw")
	}
	if maxV == minV {
		maxV, minV = maxV+0.5, minV-0.5
	}
	if maxS == minS {
		maxS++
	}
	labelW := max(len(run.FormatMetric(maxV)), len(run.FormatMetric(minV)))
	plotW := max(width-labelW-3, 10)
	grid := make([][]rune, height)
	for i := range grid {
		grid[i] = []rune(strings.Repeat(" ", plotW))
	}
	for si, s := range ss {
		for _, p := range s.pts {
			if math.IsNaN(p.Value) || math.IsInf(p.Value, 0) {
				continue
			}
			x := int(float64(p.Step-minS) / float64(maxS-minS) * float64(plotW-1))
			y := height - 1 - int((p.Value-minV)/(maxV-minV)*float64(height-1)+0.5)
			grid[y][x] = plotMarks[si]
		}
	}
	p := painter(colorOn(e.stdout))
	fmt.Fprintf(e.stdout, "%s\n", p.paint("1", c.Metric))
	for i, row := range grid {
		label := ""
		switch i {
		case 0:
			label = run.FormatMetric(maxV)
		case height - 1:
			label = run.FormatMetric(minV)
		}
		fmt.Fprintf(e.stdout, "%*s ┤%s\n", labelW, label, strings.TrimRight(string(row), " "))
	}
	fmt.Fprintf(e.stdout, "%*s └%s\n", labelW, "", strings.Repeat("─", plotW))
	first, last := fmt.Sprint(minS), fmt.Sprint(maxS)
	gap := max(plotW-len(first)-len(last), 1)
	fmt.Fprintf(e.stdout, "%*s  %s%s%s  %s\n", labelW, "", first, strings.Repeat(" ", gap), last, p.dim("step"))
	abbrev := abbreviations(all)
	for si, s := range ss {
		m := s.en.Record.Metrics[c.Metric]
		fmt.Fprintf(e.stdout, "  %c %s %s  last %s\n", plotMarks[si], abbrev[s.en.ID], s.en.Record.Name, run.FormatMetric(m.Last))
	}
	return nil
}
