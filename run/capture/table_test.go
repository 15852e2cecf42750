package capture

import (
	"bufio"
	"os"
	"strings"
	"testing"
)

// TestFrameworks reads testdata/frameworks.txt, lines as training
// frameworks print them with the points each must give, through a Stream
// per group, and wants every line read exactly.
func TestFrameworks(t *testing.T) {
	f, err := os.Open("testdata/frameworks.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p, err := NewParser("")
	if err != nil {
		t.Fatal(err)
	}
	var (
		s                                   = p.Stream()
		group, line                         string
		got                                 []Point
		lines, metricLines, right, falsePos int
	)
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		text := sc.Text()
		switch {
		case strings.HasPrefix(text, "== "):
			group, s = text[3:], p.Stream()
		case strings.HasPrefix(text, "< "):
			line = strings.ReplaceAll(text[2:], `\t`, "\t")
			got = s.Parse([]byte(line), got[:0])
			lines++
		case strings.HasPrefix(text, "> "):
			want := text[2:]
			g := pts(got)
			if g == "" {
				g = "-"
			}
			if want != "-" {
				metricLines++
			}
			switch {
			case g == want && want != "-":
				right++
			case g != want && want == "-":
				falsePos++
			}
			if g != want {
				t.Errorf("frameworks.txt:%d (%s): %q\n got %s\nwant %s", n, group, line, g, want)
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if lines < 200 {
		t.Errorf("only %d lines", lines)
	}
	t.Logf("%d lines: %d metric lines, %d read exactly; %d of %d lines without metrics gave some",
		lines, metricLines, right, falsePos, lines-metricLines)
}

// TestStreamDumps checks that a module's repr, nested, is passed over to
// its last parenthesis, and that code Python echoes under a warning opens
// nothing.
func TestStreamDumps(t *testing.T) {
	p, err := NewParser("")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ name, text, want string }{
		{"nested repr", "GPT(\n  (blocks): TransformerEncoder(\n    (0): Layer(\n      (lin): Linear(in_features=32, bias=True)\n    )\n    (drop): Dropout(p=0.1)\n  )\n  (head): Linear(in_features=32)\n)\nloss: 0.3",
			"loss=0.3@-"},
		{"optimizer repr", "Adadelta (\nParameter Group 0\n    eps: 1e-06\n    lr: 1.0\n)\nlr: 0.5", "lr=0.5@-"},
		{"warning echo", "x.py:684: ConvergenceWarning: Maximum iterations (15) reached\n  warnings.warn(\nIteration 1, loss = 2.34", "loss=2.34@1"},
		{"assignment echo", "x.py:458: ConvergenceWarning: lbfgs failed\n  n_iter_i = Check(\nloss: 0.2", "loss=0.2@-"},
	} {
		s := p.Stream()
		var got []Point
		for _, line := range strings.Split(tt.text, "\n") {
			got = s.Parse([]byte(line), got)
		}
		if g := pts(got); g != tt.want {
			t.Errorf("%s: got %s, want %s", tt.name, g, tt.want)
		}
	}
}
