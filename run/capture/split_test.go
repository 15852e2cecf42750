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

// The line splitter passes over lines that cannot concern the Stream;
// with tables and settings dumps opening and closing, whatever the
// chunks, it must find exactly what a Stream given every line finds.
// Each output mixes some of the lines below, so that some have no table.
func TestLineSplitterMatchesStream(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	lines := []string{
		"epoch     train_loss  valid_loss  accuracy  time",
		"0         0.912300    0.745600    0.800000  00:12",
		"3         0.237300    0.220600    0.830000  00:15",
		"      Epoch    GPU_mem   box_loss   cls_loss  Instances       Size",
		"      1/100      2.61G      1.234      2.345         12        640: 100%|██████████| 8/8 [00:02<00:00,  3.1it/s]",
		"                 Class     Images  Instances      Box(P          R      mAP50  mAP50-95): 100%|██████████| 4/4",
		"                   all        128        929      0.671      0.553      0.617      0.449",
		"┃        Test metric        ┃       DataLoader 0        ┃",
		"│         test_acc          │    0.9200000166893005     │",
		"TrainingArguments(",
		"learning_rate=5e-05,",
		")",
		"\x1b[1mepoch  loss\x1b[0m",
		"1  0.5",
		"Loaded 50000 images from /data/train in 3.2s",
		"Saving model checkpoint to ./output",
		"step 7 loss=0.3",
		"iter 100: loss 4.2, time 93.1ms",
		"Iteration 3, inertia 81.33.",
		"iter  2 act 1.3e+02 pre 1.0e+02 f 2.4e+02 |g| 2.2e+02 CG   4",
		"  (fc1): Linear(in_features=576, out_features=32, bias=True)",
		"  warnings.warn(",
		"",
	}
	p, err := NewParser("")
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for trial := range 40 {
		var some []string
		for _, l := range lines {
			if rng.IntN(2) == 0 {
				some = append(some, l)
			}
		}
		if len(some) == 0 {
			continue
		}
		var out strings.Builder
		for range 500 {
			out.WriteString(some[rng.IntN(len(some))])
			out.WriteString([]string{"\n", "\r", "\r\n"}[rng.IntN(3)])
		}
		text := out.String()
		s := p.Stream()
		var want []Point
		for _, l := range splitLines(text) {
			want = s.Parse([]byte(l), want)
		}
		total += len(want)
		for _, chunk := range []int{1, 7, 4096, -1} {
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
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("output %d, chunks of %d: %d points, want %d", trial, chunk, len(got), len(want))
			}
		}
	}
	if total < 2000 {
		t.Fatalf("only %d points in the references", total)
	}
}
