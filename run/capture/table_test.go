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
