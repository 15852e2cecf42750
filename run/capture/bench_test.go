package capture

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/gitruns/gitruns/run"
)

// BenchmarkStream1M reads the lines of BenchmarkParse1M through a Stream,
// as exec does.
func BenchmarkStream1M(b *testing.B) {
	lines := benchLines()
	p, _ := NewParser("")
	s := p.Stream()
	dst := make([]Point, 0, 16)
	b.ResetTimer()
	for b.Loop() {
		n := 0
		for _, l := range lines {
			dst = s.Parse(l, dst[:0])
			n += len(dst)
		}
		if n != 600_000 {
			b.Fatalf("%d points", n)
		}
	}
}

// mixLines is 1,000,000 lines of a realistic mix: a fastai table whose
// header stays open for the rest of the output, Keras and tqdm progress
// lines, Hugging Face dicts, log lines and plain prose.
func mixLines() [][]byte {
	head := []string{
		"epoch     train_loss  valid_loss  accuracy  time    ",
		"0         0.912300    0.745600    0.800000  00:12     ",
	}
	body := []string{
		"Epoch 3/10",
		"1875/1875 [==============================] - 5s 3ms/step - loss: 0.2931 - accuracy: 0.9151 - val_loss: 0.1423 - val_accuracy: 0.9578",
		" 45%|████▌     | 450/1000 [00:12<00:15, 36.52it/s, loss=0.312]",
		"{'loss': 0.3124, 'learning_rate': 5e-05, 'epoch': 0.5}",
		"Loaded 50000 images from /data/train in 3.2s",
		"Saving model checkpoint to ./output/checkpoint-500",
		"INFO 2024-01-15 10:30:45 worker 3 ready",
		"The quick brown fox jumps over the lazy dog, again and again",
		"  warnings.warn(\"deprecated\", FutureWarning)",
		"1         0.462300    0.395600    0.810000  00:13     ",
	}
	lines := make([][]byte, 1_000_000)
	for i := range lines {
		if i < len(head) {
			lines[i] = []byte(head[i])
		} else {
			lines[i] = []byte(body[i%len(body)])
		}
	}
	return lines
}

func BenchmarkStreamMix(b *testing.B) {
	lines := mixLines()
	p, _ := NewParser("")
	dst := make([]Point, 0, 16)
	b.ResetTimer()
	for b.Loop() {
		s := p.Stream()
		for _, l := range lines {
			dst = s.Parse(l, dst[:0])
		}
	}
}

// execOutput is the output of cmd/git-runs's BenchmarkExecOutput.
func execOutput() []byte {
	var out bytes.Buffer
	out.WriteString("seed 1234 5678\n")
	for i := 0; i < 1_000_000; i++ {
		if i%5 == 0 {
			fmt.Fprintf(&out, "step %d loss=%.6f\n", i/5, 1/float64(i+1))
		} else {
			fmt.Fprintf(&out, "Loaded batch %d of 50000 images from /data/train in 3.2s\n", i)
		}
	}
	return out.Bytes()
}

// BenchmarkSplitExec feeds the output of BenchmarkExecOutput to a line
// splitter in reads of 64 KiB, as exec does.
func BenchmarkSplitExec(b *testing.B) {
	out := execOutput()
	p, _ := NewParser("")
	b.SetBytes(int64(len(out)))
	b.ResetTimer()
	for b.Loop() {
		n := 0
		l := newLineSplitter(p, func(Point, time.Time) { n++ })
		for c := out; len(c) > 0; {
			k := min(len(c), 64<<10)
			l.write(c[:k])
			c = c[k:]
		}
		l.flush()
		if n != 200_000 {
			b.Fatalf("%d points", n)
		}
	}
}

// FuzzStream reads a sequence of lines through a Stream: it never panics
// nor gives an invalid key, and a line that no table or settings dump
// can concern gives what Parse gives.
func FuzzStream(f *testing.F) {
	for _, s := range []string{
		"epoch     train_loss  valid_loss  accuracy  time\n0         0.9123    0.7456    0.8  00:12\nloss: 0.3",
		"      Epoch    GPU_mem   box_loss\n      1/100      2.61G      1.234       640: 100%|██████████| 8/8\n                 Class     Images  Instances      Box(P          R      mAP50  mAP50-95): 100%\n                   all        128        929      0.671      0.553      0.617      0.449",
		"┃        Test metric        ┃       DataLoader 0        ┃\n│         test_acc          │    0.9200000166893005     │",
		"TrainingArguments(\nlearning_rate=5e-05,\n)\nloss=1",
		"iter 100: loss 4.2, time 93.1ms, mfu 12.3%\r[0]\ttrain-rmse:17.5",
		"\x1b[1mepoch  loss\x1b[0m\n1  0.5",
		"| epoch 2 | loss 0.5 |\n{'loss': 0.3, 'epoch': 0.5}",
	} {
		f.Add([]byte(s))
	}
	p, _ := NewParser("")
	f.Fuzz(func(t *testing.T, text []byte) {
		s := p.Stream()
		var got, want []Point
		for _, line := range splitLines(string(text)) {
			idle := s.tab == nil && s.counter == nil && s.dump == 0
			got = s.Parse([]byte(line), got[:0])
			for _, pt := range got {
				if err := run.ValidateKey("metric", pt.Key); err != nil {
					t.Fatalf("line %q: %v", line, err)
				}
			}
			if idle && s.tab == nil && s.dump == 0 {
				// No table or dump before or after: the line is read as
				// Parse reads it.
				want = p.Parse([]byte(line), want[:0])
				if pts(got) != pts(want) {
					t.Fatalf("line %q: Stream gave %s, Parse %s", line, pts(got), pts(want))
				}
			}
		}
	})
}
