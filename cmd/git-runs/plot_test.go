package main

import (
	"strings"
	"testing"

	"github.com/gitruns/gitruns/run"
	"github.com/gitruns/gitruns/run/tracker"
)

func TestDrawPlot(t *testing.T) {
	pts := func(vs ...float64) []run.Point {
		var p []run.Point
		for i, v := range vs {
			p = append(p, run.Point{Step: int64(i * 2), Value: v})
		}
		return p
	}
	ss := []plotSeries{
		{tracker.Run{}, pts(100, 10, 1, 0.1, 0.01)},
		{tracker.Run{}, pts(50, 40, 30, 20, 0)}, // 0 is left out on a log scale
	}
	for _, tc := range []struct {
		log  bool
		want string
	}{
		{false, `
100 ┤●
    ┤ ·
    ┤+··
 40 ┤  ··+···+·
    ┤    ●·    ··+··
  0 ┤      ··●···●····+
    └──────────────────
     0                8  step
`},
		{true, `
    100 ┤+··+·
        ┤  ·●··+··+
        ┤     ·●
0.39811 ┤       ··
        ┤         ●·
   0.01 ┤           ··●
        └──────────────
         0            8  step
`},
	} {
		got, err := drawPlot(ss, 24, 6, tc.log, painter(false))
		if err != nil {
			t.Fatal(err)
		}
		if got != strings.TrimPrefix(tc.want, "\n") {
			t.Errorf("log %v:\n%s\nwant\n%s", tc.log, got, tc.want)
		}
	}
	if _, err := drawPlot([]plotSeries{{tracker.Run{}, pts(0, -1)}}, 24, 6, true, painter(false)); err == nil {
		t.Error("a log plot of values at or below 0 drew something")
	}
}
