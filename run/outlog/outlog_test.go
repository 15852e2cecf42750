package outlog

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/gitruns/gitruns/internal/secretcorpus"
	"github.com/gitruns/gitruns/run/secret"
)

func newLog(t *testing.T, limit int64, red *secret.Redactor) (*Log, string) {
	t.Helper()
	prefix := filepath.Join(t.TempDir(), "out")
	o, err := Create(prefix, limit, red)
	if err != nil {
		t.Fatal(err)
	}
	return o, prefix
}

func write(t *testing.T, o *Log, s string) {
	t.Helper()
	if n, err := o.Write([]byte(s)); err != nil || n != len(s) {
		t.Fatalf("Write = %d, %v", n, err)
	}
}

func read(t *testing.T, prefix string, limit int64) (string, int64) {
	t.Helper()
	data, total, err := Read(prefix, limit)
	if err != nil {
		t.Fatal(err)
	}
	return string(data), total
}

// diskUse is the number of bytes in the files of a log.
func diskUse(t *testing.T, prefix string) int64 {
	t.Helper()
	var n int64
	for _, ext := range []string{".head", ".tail0", ".tail1"} {
		if fi, err := os.Stat(prefix + ext); err == nil {
			n += fi.Size()
		}
	}
	return n
}

func TestOutputSmall(t *testing.T) {
	for _, size := range []int{0, 1, 511, 512, 513, 1000, 1024} {
		o, prefix := newLog(t, 1024, nil)
		want := strings.Repeat("x", size)
		write(t, o, want)
		if err := o.Close(); err != nil {
			t.Fatal(err)
		}
		if got, total := read(t, prefix, 1024); got != want || total != int64(size) {
			t.Errorf("size %d: read %d bytes, total %d", size, len(got), total)
		}
	}
}

func TestOutputBig(t *testing.T) {
	const limit = 1024
	o, prefix := newLog(t, limit, nil)
	var all bytes.Buffer
	for i := 0; all.Len() < 100<<10; i++ {
		line := fmt.Sprintf("line %06d\n", i)
		all.WriteString(line)
		write(t, o, line)
		if use := diskUse(t, prefix); use > limit*3/2+2*int64(tailHeaderLen) {
			t.Fatalf("disk use %d after %d bytes", use, all.Len())
		}
	}
	if err := o.Close(); err != nil {
		t.Fatal(err)
	}
	got, total := read(t, prefix, limit)
	if total != int64(all.Len()) {
		t.Errorf("total %d, want %d", total, all.Len())
	}
	head := all.String()[:limit/2]
	if !strings.HasPrefix(got, head) {
		t.Fatalf("output does not start with the head:\n%s", got)
	}
	rest := got[len(head):]
	note, tail, ok := strings.Cut(rest, "]\n")
	if !ok {
		t.Fatalf("no cut note:\n%s", got)
	}
	var cut int64
	if _, err := fmt.Sscanf(note, "\n[git-runs: %d bytes of output cut here", &cut); err != nil {
		t.Fatalf("note %q: %v", note, err)
	}
	if !strings.HasSuffix(all.String(), tail) || len(tail) > limit/2 || len(tail) < limit/2-12 {
		t.Errorf("tail of %d bytes is not the end of the output:\n%s", len(tail), tail)
	}
	if !strings.HasPrefix(tail, "line ") {
		t.Errorf("tail does not start at a line: %q", tail[:20])
	}
	if int64(len(head))+cut+int64(len(tail)) != total {
		t.Errorf("head %d + cut %d + tail %d != total %d", len(head), cut, len(tail), total)
	}
}

func TestOutputCutAfterLineEnd(t *testing.T) {
	o, prefix := newLog(t, 20, nil)
	write(t, o, "123456789\n"+strings.Repeat("abcd\n", 10))
	o.Close()
	got, total := read(t, prefix, 20)
	if want := "123456789\n[git-runs: 40 bytes of output cut here]\nabcd\nabcd\n"; got != want || total != 60 {
		t.Errorf("got %q, %d", got, total)
	}
}

func TestOutputMissing(t *testing.T) {
	got, total := read(t, filepath.Join(t.TempDir(), "none"), 0)
	if got != "" || total != 0 {
		t.Errorf("got %q, %d", got, total)
	}
}

func TestOutputRemove(t *testing.T) {
	o, prefix := newLog(t, 10, nil)
	write(t, o, strings.Repeat("x", 100))
	o.Close()
	if err := Remove(prefix); err != nil {
		t.Fatal(err)
	}
	if diskUse(t, prefix) != 0 {
		t.Error("files left")
	}
	if err := Remove(prefix); err != nil {
		t.Errorf("second remove: %v", err)
	}
}

func TestOutputReplacesOldFiles(t *testing.T) {
	o, prefix := newLog(t, 10, nil)
	write(t, o, strings.Repeat("x", 100))
	o.Close()
	o, err := Create(prefix, 10, nil)
	if err != nil {
		t.Fatal(err)
	}
	write(t, o, "new")
	o.Close()
	if got, total := read(t, prefix, 10); got != "new" || total != 3 {
		t.Errorf("got %q, %d", got, total)
	}
}

func TestOutputRedactSplit(t *testing.T) {
	const token = "sk-live-0123456789abcdef"
	red := secret.NewRedactor([]string{"OPENAI_API_KEY=" + token})
	o, prefix := newLog(t, 1<<20, red)
	// The secret arrives in pieces, within one line and across lines.
	for _, piece := range []string{"key is sk-li", "ve-0123", "456789abcdef, again ", token[:5], token[5:] + "\r", "\nlast " + token[:10]} {
		write(t, o, piece)
		if b, _ := os.ReadFile(prefix + ".head"); bytes.Contains(b, []byte("sk-li")) {
			t.Fatalf("part of the secret on disk: %q", b)
		}
	}
	write(t, o, token[10:])
	if err := o.Close(); err != nil {
		t.Fatal(err)
	}
	got, _ := read(t, prefix, 1<<20)
	if want := "key is [redacted], again [redacted]\r\nlast [redacted]"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestOutputRedactLongLine(t *testing.T) {
	const token = "hunter2-correct-horse"
	red := secret.NewRedactor([]string{"DB_PASSWORD=" + token})
	o, prefix := newLog(t, 1<<20, red)
	// A line without an end, longer than what is held back, with secrets
	// falling across every write boundary.
	var sent strings.Builder
	for i := 0; i < 2000; i++ {
		chunk := fmt.Sprintf("%d %s ", i, token)
		sent.WriteString(chunk)
		for len(chunk) > 0 {
			n := min(7, len(chunk))
			write(t, o, chunk[:n])
			chunk = chunk[n:]
		}
	}
	head, _ := os.ReadFile(prefix + ".head")
	if len(head) < 10000 {
		t.Errorf("only %d bytes written before Close: the partial line is held back whole", len(head))
	}
	if bytes.Contains(head, []byte("hunter")) || bytes.Contains(head, []byte("horse")) {
		t.Error("secret on disk")
	}
	o.Close()
	got, _ := read(t, prefix, 1<<20)
	if want := strings.ReplaceAll(sent.String(), token, secret.Redacted); got != want {
		t.Errorf("output differs from the redacted input")
	}
}

// Without secret values, an unfinished line is held back all the same:
// it may be the start of a secret recognised by its shape.
func TestOutputPartialLineHeldBack(t *testing.T) {
	o, prefix := newLog(t, 1<<20, secret.NewRedactor(nil))
	write(t, o, "partial line, token ghp_")
	if b, _ := os.ReadFile(prefix + ".head"); string(b) != "" {
		t.Errorf("on disk: %q", b)
	}
	write(t, o, "aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3z0AbC\n")
	o.Close()
	if got, _ := read(t, prefix, 1<<20); got != "partial line, token [redacted]\n" {
		t.Errorf("got %q", got)
	}
}

// Secrets recognised by shape never reach the files, however the output
// is cut into writes: every split of a text holding one of each family.
func TestOutputShapesSplit(t *testing.T) {
	var text strings.Builder
	for _, s := range secretcorpus.All() {
		fmt.Fprintf(&text, "step 1 loss=0.5 %s\n", s.Line)
	}
	pem, _ := secretcorpus.PrivateKey()
	text.WriteString("key:\n" + pem + "done\n")
	want := (*secret.Redactor)(nil).Redact(text.String())
	for _, size := range []int{1, 3, 7, 64, 4096} {
		o, prefix := newLog(t, 1<<20, nil)
		s := text.String()
		for len(s) > 0 {
			n := min(size, len(s))
			write(t, o, s[:n])
			s = s[n:]
		}
		o.Close()
		if got, _ := read(t, prefix, 1<<20); got != want {
			t.Errorf("writes of %d bytes: got\n%s\nwant\n%s", size, got, want)
		}
	}
}

func TestOutputConcurrent(t *testing.T) {
	red := secret.NewRedactor([]string{"TOKEN=abcdef123456"})
	o, prefix := newLog(t, 1<<20, red)
	var wg sync.WaitGroup
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 1000; i++ {
				fmt.Fprintf(o, "writer %d line %d abcdef123456\n", w, i)
			}
		}()
	}
	wg.Wait()
	o.Close()
	got, total := read(t, prefix, 1<<20)
	lines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
	if len(lines) != 2000 || total != int64(len(got)) {
		t.Fatalf("%d lines, total %d", len(lines), total)
	}
	seen := map[string]bool{}
	for _, l := range lines {
		var w, i int
		if _, err := fmt.Sscanf(l, "writer %d line %d [redacted]", &w, &i); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		seen[l] = true
	}
	if len(seen) != 2000 {
		t.Errorf("%d distinct lines", len(seen))
	}
}

func TestOutputReadWhileWriting(t *testing.T) {
	const limit = 256
	o, prefix := newLog(t, limit, nil)
	done := make(chan bool)
	var written sync.WaitGroup
	written.Add(1)
	go func() {
		defer written.Done()
		for i := 0; i < 20000; i++ {
			fmt.Fprintf(o, "line %06d\n", i)
		}
	}()
	go func() {
		written.Wait()
		close(done)
	}()
	reads := 0
	for {
		select {
		case <-done:
			o.Close()
			got, total := read(t, prefix, limit)
			if total != 20000*12 || !strings.HasSuffix(got, "line 019999\n") {
				t.Errorf("final read: total %d, ends %q", total, got[max(0, len(got)-20):])
			}
			if reads == 0 {
				t.Log("no read overlapped the writing")
			}
			return
		default:
		}
		got, total := read(t, prefix, limit)
		reads++
		// Whatever the moment, the output is the head, maybe a note, and
		// whole lines of the end of what was written so far.
		if int64(len(got)) > total+100 || len(got) > limit+100 {
			t.Fatalf("read %d bytes of %d", len(got), total)
		}
		if head := "line 000000\n"; total >= 12 && !strings.HasPrefix(got, head) {
			t.Fatalf("bad head: %q", got[:min(len(got), 24)])
		}
		if _, rest, ok := strings.Cut(got, "cut here]\n"); ok {
			// The writer may be in the middle of a line.
			if total >= limit && rest != "" && !strings.HasPrefix(rest, "line ") {
				t.Fatalf("bad tail %q", rest)
			}
		}
	}
}

func TestOutputWriteAfterClose(t *testing.T) {
	o, _ := newLog(t, 10, nil)
	o.Close()
	if _, err := o.Write([]byte("x")); err == nil {
		t.Error("Write after Close succeeded")
	}
	if err := o.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// A log whose head file is gone (damaged by hand) still reads: the cut
// note, then the tail.
func TestOutputHeadMissing(t *testing.T) {
	o, prefix := newLog(t, 20, nil)
	write(t, o, "123456789\n"+strings.Repeat("abcd\n", 10))
	o.Close()
	if err := os.Remove(prefix + ".head"); err != nil {
		t.Fatal(err)
	}
	got, total := read(t, prefix, 20)
	if want := "[git-runs: 50 bytes of output cut here]\nabcd\nabcd\n"; got != want || total != 60 {
		t.Errorf("got %q, %d", got, total)
	}
}
