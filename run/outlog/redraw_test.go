package outlog

import (
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/gitruns/gitruns/run/secret"
)

// redrawCases are output as printed and what is stored of it.
var redrawCases = []struct{ name, in, want string }{
	{"tqdm bar", "epoch 1:  10%|#   | 1/10\repoch 1:  20%|##  | 2/10\repoch 1: 100%|####| 10/10\n",
		"epoch 1: 100%|####| 10/10\n"},
	{"bar drawn after its \\r", "\repoch 1:  10%|#   | 1/10\repoch 1: 100%|####| 10/10\n", "epoch 1: 100%|####| 10/10\n"},
	{"plain lines", "a\nb\n\nc", "a\nb\n\nc"},
	{"windows line ends", "a\r\nb\r\n\r\nc", "a\r\nb\r\n\r\nc"},
	{"bar with windows line end", "bar 1\rbar 2\r\nnext\r\n", "bar 2\r\nnext\r\n"},
	{"bar ended by \\r\\r\\n", "bar 1\rbar 2\r\r\n", "bar 2\r\n"},
	{"tqdm.write between redraws",
		"\rtrain:  10%|#         | 1/10\r                              \rstep 1 loss=0.5\n\rtrain:  20%|##        | 2/10\rtrain: 100%|##########| 10/10\n",
		"step 1 loss=0.5\ntrain: 100%|##########| 10/10\n"},
	{"keras backspaces", "1/3 [==>...] - loss: 0.5\b\b\b\b\b\r2/3 [====>.] - loss: 0.4\b\b\b\b\b\r3/3 [======] - loss: 0.3\n",
		"3/3 [======] - loss: 0.3\n"},
	{"erase line kept", "\x1b[Kbar 1\r\x1b[Kbar 2\n", "\x1b[Kbar 2\n"},
	{"cleared at the end", "bar 1\r\x1b[K\n", "\x1b[K\n"},
	{"nested bars", "\rO1\n\rI1\x1b[A\rO2\n\rI2\x1b[A\rO3\n", "O3\n"},
	{"tqdm nested bars", "\rep 0/2\n\rit 0/3\x1b[A\n\rit 1/3\x1b[A\n\rit 2/3\x1b[A\rep 1/2\n\r      \x1b[A" +
		"\n\r      \r\x1b[A\r      \rloss=0.5\n\rep 1/2\n\rit 0/3\x1b[A\rep 2/2\ndone\n",
		"loss=0.5\nep 2/2\ndone\n"},
	{"tqdm.write clearing the upper bar first", "\rep 1/2\n\rit 1/3\x1b[A\r       \r\n\r       \r\x1b[Aloss=0.5\n\rep 1/2\n\rit 1/3\x1b[A\rep 2/2\n",
		"loss=0.5\nep 2/2\n"},
	{"bar after bar", "\rep 1 1/2\rep 1 2/2\n\rep 2 1/2\rep 2 2/2\n", "ep 1 2/2\nep 2 2/2\n"},
	{"bar, then a line", "\rep 1/2\rep 2/2\nnext\n", "ep 2/2\nnext\n"},
	{"unterminated under a held bar", "\rep 2/2\n\rit 1/3\x1b[A", "ep 2/2\n"},
	{"unterminated after \\r", "x\nbar 1\rbar 2\r", "x\nbar 2"},
	{"unterminated mid-state", "x\nbar 1\rbar 2", "x\nbar 2"},
	{"only \\r", "\r\r\r", ""},
	{"state then empty line", "a\rb\r\n\n", "b\r\n\n"},
}

func TestRedrawStoresLastState(t *testing.T) {
	for _, tt := range redrawCases {
		// Whole, a byte at a time, and cut in two at every place: a \r
		// and what follows it may come in different writes.
		splits := [][]string{{tt.in}, strings.Split(tt.in, "")}
		for i := 1; i < len(tt.in); i++ {
			splits = append(splits, []string{tt.in[:i], tt.in[i:]})
		}
		for _, parts := range splits {
			o, prefix := newLog(t, 1<<20, nil)
			for _, p := range parts {
				write(t, o, p)
			}
			if err := o.Close(); err != nil {
				t.Fatal(err)
			}
			if got, total := read(t, prefix, 1<<20); got != tt.want || total != int64(len(tt.want)) {
				t.Errorf("%s, written as %q: stored %q (total %d), want %q", tt.name, parts, got, total, tt.want)
				break
			}
			if _, err := os.Stat(prefix + ".line"); !os.IsNotExist(err) {
				t.Errorf("%s: line file left after Close: %v", tt.name, err)
			}
		}
	}
}

// The state of the line being redrawn is on disk as of its last \r: a
// reader sees the bar as it stands, and a writer that dies (nothing
// closes the Log) leaves it to be read with the rest.
func TestRedrawLineOnDisk(t *testing.T) {
	o, prefix := newLog(t, 1<<20, nil)
	write(t, o, "start\nbar 1\rbar 2\r")
	line, at, err := ReadLine(prefix)
	if err != nil || string(line) != "bar 2" || at != 6 {
		t.Fatalf("ReadLine = %q, %d, %v; want bar 2 at 6", line, at, err)
	}
	if got, total := read(t, prefix, 1<<20); got != "start\nbar 2" || total != 11 {
		t.Errorf("Read = %q, %d", got, total)
	}
	write(t, o, "bar 3") // not ended by \r: not yet a state
	if got, _ := read(t, prefix, 1<<20); got != "start\nbar 2" {
		t.Errorf("Read mid-state = %q", got)
	}
	write(t, o, "\nnext\n")
	// The line is stored: the line file, not rewritten, starts where
	// the stored output no longer ends, and is not read.
	if got, _ := read(t, prefix, 1<<20); got != "start\nbar 3\nnext\n" {
		t.Errorf("Read after the line ended = %q", got)
	}
	data, from, next, err := ReadFrom(prefix, 0)
	if _, at, _ := ReadLine(prefix); err != nil || string(data) != "start\nbar 3\nnext\n" || from != 0 || at == next {
		t.Errorf("ReadFrom = %q, %d, %d, %v; line at %d", data, from, next, err, at)
	}
	write(t, o, "again 1\r")
	if got, _ := read(t, prefix, 1<<20); got != "start\nbar 3\nnext\nagain 1" {
		t.Errorf("Read of a second bar = %q", got)
	}
	// A crash: the Log is never closed. What recovery reads is what
	// was stored and the line's last state.
	if got, _ := read(t, prefix, 1<<20); got != "start\nbar 3\nnext\nagain 1" {
		t.Errorf("after a crash: %q", got)
	}
	o.Close()
}

// Secrets never reach the line file, nor move on the redaction of what
// is stored: a private key's BEGIN line in a state does not hide the
// lines after it.
func TestRedrawLineRedacted(t *testing.T) {
	const token = "sk-live-0123456789abcdef"
	red := secret.NewRedactor([]string{"OPENAI_API_KEY=" + token})
	o, prefix := newLog(t, 1<<20, red)
	write(t, o, "using "+token+"\r-----BEGIN RSA PRIVATE KEY-----\rusing "+token+" 2\r")
	b, err := os.ReadFile(prefix + ".line")
	if err != nil || strings.Contains(string(b), "sk-live") {
		t.Fatalf("line file %q, %v", b, err)
	}
	write(t, o, "done\nloss=0.5\n")
	o.Close()
	if got, _ := read(t, prefix, 1<<20); got != "done\nloss=0.5\n" {
		t.Errorf("stored %q", got)
	}
}

// A bar redrawn a million times holds one state in memory, stores one
// line, and leaves the output limit to the rest.
func TestRedrawBounded(t *testing.T) {
	const limit = 4096
	o, prefix := newLog(t, limit, nil)
	var chunk strings.Builder
	for i := range 1_000_000 {
		fmt.Fprintf(&chunk, "\rtrain: %3d%%|%-10s| %d/1000000", i/10000, strings.Repeat("#", i/100000), i)
		if chunk.Len() >= 64<<10 || i == 999_999 {
			write(t, o, chunk.String())
			chunk.Reset()
			if held := cap(o.out.pending) + cap(o.out.shown); held > 16<<10 {
				t.Fatalf("%d bytes held after %d redraws", held, i)
			}
		}
	}
	write(t, o, "\nloss=0.1\n")
	if use := diskUse(t, prefix); use > 200 {
		t.Errorf("%d bytes on disk", use)
	}
	o.Close()
	want := "train:  99%|######### | 999999/1000000\nloss=0.1\n"
	if got, total := read(t, prefix, limit); got != want || total != int64(len(want)) {
		t.Errorf("stored %q, total %d", got, total)
	}
}

// Redrawing takes no allocation per redraw: a write of many allocates
// no more than one of a few.
func TestRedrawAllocations(t *testing.T) {
	o, _ := newLog(t, 1<<30, nil)
	defer o.Close()
	few := []byte(strings.Repeat("\rstep 123456 of 1000000", 3))
	many := []byte(strings.Repeat("\rstep 123456 of 1000000", 3000))
	o.Write(many)
	a := testing.AllocsPerRun(50, func() { o.Write(few) })
	b := testing.AllocsPerRun(50, func() { o.Write(many) })
	if b > a {
		t.Errorf("%v allocations for 3000 redraws, %v for 3", b, a)
	}
}

// A line longer than what is held back is stored as printed from then
// on, up to its \n, and the next line is condensed again.
func TestRedrawLongLine(t *testing.T) {
	o, prefix := newLog(t, 1<<20, nil)
	long := strings.Repeat("x", 2*maxPartial)
	write(t, o, "bar 1\r"+long+"\rbar 2\rbar 3\nnext 1\rnext 2\n")
	if held := cap(o.out.pending) + cap(o.out.shown); held > 4*maxPartial {
		t.Errorf("%d bytes held", held)
	}
	o.Close()
	want := long + "\rbar 2\rbar 3\nnext 2\n"
	if got, _ := read(t, prefix, 1<<20); got != want {
		t.Errorf("stored %q…, want %q…", got[:min(len(got), 40)], want[:40])
	}
}

// A reader of the line file, however it overlaps the rewrites, gets one
// whole state of the line.
func TestRedrawReadLineWhileWriting(t *testing.T) {
	o, prefix := newLog(t, 1<<20, nil)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			// States of different lengths, so that a mix would show.
			fmt.Fprintf(o, "\rstate %d %s|", i, strings.Repeat("=", i%50))
		}
	})
	state := regexp.MustCompile(`^state (\d+) (=*)\|$`)
	seen := 0
	for seen < 2000 {
		line, at, err := ReadLine(prefix)
		if err != nil {
			t.Fatal(err)
		}
		if at < 0 {
			continue
		}
		m := state.FindStringSubmatch(string(line))
		if m == nil || at != 0 {
			t.Fatalf("read %q at %d", line, at)
		}
		var i int
		fmt.Sscan(m[1], &i)
		if len(m[2]) != i%50 {
			t.Fatalf("torn state %q", line)
		}
		seen++
	}
	close(stop)
	wg.Wait()
	o.Close()
}

// Two streams into one Log, as standard output and error read apart: a
// line printed on one while the other draws a bar is stored whole, and
// the bar, still current, moves after it in the line file.
func TestRedrawTwoStreams(t *testing.T) {
	o, prefix := newLog(t, 1<<20, nil)
	errw := o.NewWriter()
	put := func(w io.Writer, s string) {
		t.Helper()
		if _, err := w.Write([]byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	put(errw, "\rtrain 1/3")
	put(errw, "\rtrain 2/3")
	put(o, "step 1 ")
	put(errw, "\rtrain 3/3")
	put(o, "loss=0.5\n")
	if line, at, err := ReadLine(prefix); err != nil || string(line) != "train 2/3" || at != 16 {
		t.Errorf("ReadLine = %q at %d, %v; want train 2/3 at 16", line, at, err)
	}
	if got, _ := read(t, prefix, 1<<20); got != "step 1 loss=0.5\ntrain 2/3" {
		t.Errorf("Read = %q", got)
	}
	put(errw, "\n")
	put(o, "unfinished")
	put(errw, "\rval 1/2")
	o.Close()
	if got, _ := read(t, prefix, 1<<20); got != "step 1 loss=0.5\ntrain 3/3\nunfinishedval 1/2" {
		t.Errorf("stored %q", got)
	}
	if _, err := errw.Write([]byte("x")); err == nil {
		t.Error("a writer of a closed Log wrote")
	}
}

// Two streams written at once keep every line of each whole.
func TestRedrawTwoStreamsConcurrent(t *testing.T) {
	o, prefix := newLog(t, 1<<20, nil)
	errw := o.NewWriter()
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range 500 {
			fmt.Fprintf(o, "step %d ", i)
			fmt.Fprintf(o, "loss=0.%d\n", i)
		}
	})
	wg.Go(func() {
		for e := range 5 {
			for i := range 100 {
				fmt.Fprintf(errw, "\repoch %d: %d/100", e, i+1)
			}
			fmt.Fprint(errw, "\n")
		}
	})
	wg.Wait()
	o.Close()
	got, _ := read(t, prefix, 1<<20)
	line := regexp.MustCompile(`^(step (\d+) loss=0\.(\d+)|epoch \d: 100/100)$`)
	lines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
	for _, l := range lines {
		if m := line.FindStringSubmatch(l); m == nil || m[2] != m[3] {
			t.Fatalf("line %q", l)
		}
	}
	if len(lines) != 505 {
		t.Errorf("%d lines", len(lines))
	}
}
