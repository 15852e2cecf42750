package capture

import (
	"fmt"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
	"time"
)

// splitLines cuts s at every \n and \r, the way lineSplitter must.
func splitLines(s string) []string {
	return regexp.MustCompile("[\r\n]").Split(s, -1)
}

// The line splitter skips lines that cannot hold a metric without cutting
// them out; whatever the chunks the output arrives in, it must find
// exactly the points that parsing every line finds.
func TestLineSplitterMatchesLineByLine(t *testing.T) {
	var out strings.Builder
	rng := rand.New(rand.NewPCG(1, 2))
	lines := []string{
		"epoch 3 loss=0.31 acc=0.9",
		"Loaded 50000 images from /data/train in 3.2s",
		"step 7: val/acc = 0.87",
		"| epoch 2 | loss 0.5 | lr 0.001 |",
		"\x1b[32mloss: 0.25\x1b[0m",
		"Epoch 1/10",
		"train_loss: 1e-3",
		"",
		"http://example.com:8080/a=b",
		"iter 12 loss=NaN",
	}
	for i := range 3000 {
		out.WriteString(lines[rng.IntN(len(lines))])
		if i%1000 == 500 { // too long to be metric lines
			out.WriteString("loss=" + strings.Repeat("9", maxLineLen) + "\n")
			out.WriteString(strings.Repeat("x", maxLineLen+10) + " loss=1\n")
		}
		if i%7 == 0 {
			out.WriteString(" progress 42%\r")
		}
		out.WriteString([]string{"\n", "\r", "\r\n"}[rng.IntN(3)])
	}
	out.WriteString("final: 1.5") // no line end: flushed at the end
	text := out.String()

	for _, pattern := range []string{"", `(?P<key>[a-z_/]+)=(?P<value>[0-9.e+-]+)`} {
		p, err := NewParser(pattern)
		if err != nil {
			t.Fatal(err)
		}
		var want []Point
		for _, l := range splitLines(text) {
			want = p.Parse([]byte(l), want)
		}
		if len(want) < 500 {
			t.Fatalf("pattern %q: only %d points in the reference", pattern, len(want))
		}
		for _, chunk := range []int{1, 3, 17, 4096, 1 << 20, -1} {
			var got []Point
			l := newLineSplitter(p, func(pt Point, _ time.Time) { got = append(got, pt) })
			for b := []byte(text); len(b) > 0; {
				n := chunk
				if n < 0 {
					n = 1 + rng.IntN(300)
				}
				n = min(n, len(b))
				l.write(b[:n])
				b = b[n:]
			}
			l.flush()
			if fmt.Sprint(got) != fmt.Sprint(want) { // NaN is not equal to itself
				t.Errorf("pattern %q, chunks of %d: %d points, want %d", pattern, chunk, len(got), len(want))
			}
		}
	}
}

// A number printed under a key that names a secret is not a metric: it
// would be recorded, and its value shown in the commit's subject.
func TestLineSplitterSecretKeysAreNotMetrics(t *testing.T) {
	p, err := NewParser("")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	l := newLineSplitter(p, func(pt Point, _ time.Time) { got = append(got, pt.Key) })
	l.write([]byte("password: 987654\napi_key=123456789\ntrain/token_accuracy=0.5 loss=0.3\nPIN secret=4242\nval/session: 3 num_tokens=7\n"))
	l.flush()
	if want := "[train/token_accuracy loss num_tokens]"; fmt.Sprint(got) != want {
		t.Errorf("metrics %v, want %s", got, want)
	}
}
