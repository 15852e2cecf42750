package diff

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/sergi/go-diff/diffmatchpatch"

	"github.com/gitruns/gitruns/run"
)

// Context is the number of unchanged lines shown around each change, as
// git shows by default.
const Context = 3

// Messages shown instead of a diff.
const (
	BinaryMessage   = "Binary files differ\n"
	TooLargeMessage = "file too large to show\n"
)

// maxLines bounds the lines go-diff is given: it turns each distinct line
// into one rune and panics past about 1.1 million of them, which a 10 MiB
// output log can hold.
var maxLines = 1 << 20 // a variable for tests

// trim splits two texts into their common whole-line prefix, the middles
// that differ, and their common whole-line suffix. go-diff trims them too,
// but only after turning every line into a rune: trimming first keeps long
// logs that differ in a few lines cheap and within maxLines.
func trim(a, b string) (prefix, midA, midB, suffix string) {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	p := strings.LastIndexByte(a[:n], '\n') + 1
	ra, rb := a[p:], b[p:]
	m := 0
	for m < len(ra) && m < len(rb) && ra[len(ra)-1-m] == rb[len(rb)-1-m] {
		m++
	}
	// The suffix must start a line on both sides.
	if m < len(ra) && ra[len(ra)-m-1] != '\n' || m < len(rb) && rb[len(rb)-m-1] != '\n' {
		i := strings.IndexByte(ra[len(ra)-m:], '\n')
		if i < 0 {
			m = 0
		} else {
			m -= i + 1
		}
	}
	return a[:p], ra[:len(ra)-m], rb[:len(rb)-m], ra[len(ra)-m:]
}

// lineDiff diffs a and b line by line: each line is reduced to one rune,
// so the character diff works on lines. ok is false when there are too
// many lines for go-diff.
func lineDiff(a, b string) (diffs []diffmatchpatch.Diff, lines []string, ok bool) {
	if countLines(a)+countLines(b) >= maxLines {
		return nil, nil, false
	}
	dmp := diffmatchpatch.New()
	ca, cb, lines := dmp.DiffLinesToChars(a, b)
	return dmp.DiffMain(ca, cb, false), lines, true
}

// countChanges returns the numbers of lines added and removed from a to b.
func countChanges(a, b string) (added, removed int) {
	_, a, b, _ = trim(a, b)
	diffs, _, ok := lineDiff(a, b)
	if !ok {
		return countLines(b), countLines(a)
	}
	for _, d := range diffs {
		// Still one rune per line: no need to turn them back into text.
		n := utf8.RuneCountInString(d.Text)
		switch d.Type {
		case diffmatchpatch.DiffInsert:
			added += n
		case diffmatchpatch.DiffDelete:
			removed += n
		}
	}
	return added, removed
}

func countLines(s string) int {
	n := strings.Count(s, "\n")
	if s != "" && s[len(s)-1] != '\n' {
		n++
	}
	return n
}

// line is one line of a diff: op is ' ', '-' or '+'; text keeps its "\n",
// which only a file's last line may lack.
type line struct {
	op   byte
	text string
}

// splitLines appends the lines of s to out, each with op.
func splitLines(out []line, op byte, s string) []line {
	for _, l := range strings.SplitAfter(s, "\n") {
		if l != "" {
			out = append(out, line{op, l})
		}
	}
	return out
}

// diffLines returns the lines of the diff from a to b, starting skip lines
// into both: of the common prefix, only the last ctx lines are kept.
func diffLines(a, b string, ctx int) (lines []line, skip int) {
	prefix, midA, midB, suffix := trim(a, b)
	head := splitLines(nil, ' ', prefix)
	skip = max(len(head)-ctx, 0)
	lines = head[skip:]
	diffs, dict, ok := lineDiff(midA, midB)
	if ok {
		dmp := diffmatchpatch.New()
		for _, d := range dmp.DiffCharsToLines(diffs, dict) {
			op := byte(' ')
			switch d.Type {
			case diffmatchpatch.DiffInsert:
				op = '+'
			case diffmatchpatch.DiffDelete:
				op = '-'
			}
			lines = splitLines(lines, op, d.Text)
		}
	} else {
		// Too many lines to diff: a correct diff, if not the smallest.
		lines = splitLines(lines, '-', midA)
		lines = splitLines(lines, '+', midB)
	}
	tail := splitLines(nil, ' ', suffix)
	return append(lines, tail[:min(ctx, len(tail))]...), skip
}

// Text returns the unified diff of two texts, hunks only (no ---/+++
// header), with Context lines of context and hunk headers as git writes
// them (without git's function names); "" when they are equal. Unlike
// FileDiff it diffs any content, however large or binary: it is meant for
// output logs, which are text that may hold stray bytes.
func Text(a, b []byte) string {
	if string(a) == string(b) {
		return ""
	}
	lines, skip := diffLines(string(a), string(b), Context)
	return unified(lines, skip, Context)
}

// unified renders lines, which start skip lines into both texts, as hunks
// with ctx lines of context. As in git, changes separated by at most 2*ctx
// unchanged lines share a hunk.
func unified(lines []line, skip, ctx int) string {
	// aPos[i] and bPos[i] count the lines of a and b before lines[i].
	aPos := make([]int, len(lines)+1)
	bPos := make([]int, len(lines)+1)
	aPos[0], bPos[0] = skip, skip
	for i, l := range lines {
		aPos[i+1], bPos[i+1] = aPos[i], bPos[i]
		if l.op != '+' {
			aPos[i+1]++
		}
		if l.op != '-' {
			bPos[i+1]++
		}
	}
	var sb strings.Builder
	n := len(lines)
	for i := 0; i < n; {
		for i < n && lines[i].op == ' ' {
			i++
		}
		if i == n {
			break
		}
		start := max(i-ctx, 0)
		end := i
		for {
			for end < n && lines[end].op != ' ' {
				end++
			}
			same := end
			for same < n && lines[same].op == ' ' {
				same++
			}
			if same < n && same-end <= 2*ctx {
				end = same // the next change is close: same hunk
				continue
			}
			end = min(end+ctx, n)
			break
		}
		sb.WriteString("@@ -")
		sb.WriteString(hunkRange(aPos[start], aPos[end]-aPos[start]))
		sb.WriteString(" +")
		sb.WriteString(hunkRange(bPos[start], bPos[end]-bPos[start]))
		sb.WriteString(" @@\n")
		for _, l := range lines[start:end] {
			sb.WriteByte(l.op)
			sb.WriteString(l.text)
			if !strings.HasSuffix(l.text, "\n") {
				sb.WriteString("\n\\ No newline at end of file\n")
			}
		}
		i = end
	}
	return sb.String()
}

// hunkRange writes one side's range of a hunk header as git does: the
// first line and the count, the count left out when 1, and for an empty
// range the line before it.
func hunkRange(before, count int) string {
	switch count {
	case 0:
		return strconv.Itoa(before) + ",0"
	case 1:
		return strconv.Itoa(before + 1)
	}
	return strconv.Itoa(before+1) + "," + strconv.Itoa(count)
}

// FileDiff returns the unified diff (hunks only, as Text) of the file at
// path (slash-separated, from the top of the work tree) between the two
// sides' code, read through code: "" when it is the same on both sides,
// BinaryMessage or TooLargeMessage instead of a diff for binary or big
// files. A file on one side only is diffed against an empty one. It fails
// with an error wrapping run.ErrNotFound when path is a file on neither
// side.
func FileDiff(code Code, a, b Side, path string) (string, error) {
	ea, err := findFile(code, a, path)
	if err != nil {
		return "", err
	}
	eb, err := findFile(code, b, path)
	if err != nil {
		return "", err
	}
	if ea == nil && eb == nil {
		return "", fmt.Errorf("diff %s: %w", path, run.ErrNotFound)
	}
	return fileDiff(code, filePair{path: path, a: ea, b: eb})
}

// findFile looks up the file at path in a side's code, reading one tree
// per directory on the way down. A submodule counts as a file, as in git.
// It returns nil when nothing or a directory is at path, or when a name on
// the way there is not a directory.
func findFile(code Code, s Side, path string) (*run.CodeEntry, error) {
	id, err := rootTree(code, s.Source)
	if err != nil || id == "" {
		return nil, err
	}
	names := strings.Split(path, "/")
	for i, name := range names {
		t, err := readTree(code, id)
		if err != nil {
			return nil, fmt.Errorf("find %s in %s: %w", path, s.Source, err)
		}
		e := t.entry(name)
		if i == len(names)-1 {
			if e == nil || e.Mode == modeDir {
				return nil, nil
			}
			return e, nil
		}
		if e == nil || e.Mode != modeDir {
			return nil, nil
		}
		id = e.ID
	}
	return nil, nil // not reached: Split returns at least one name
}

// fileDiff diffs one pair: mode lines as git writes them when the mode
// changed, then the hunks or the message that replaces them.
func fileDiff(code Code, p filePair) (string, error) {
	mode := ""
	if p.a != nil && p.b != nil && p.a.Mode != p.b.Mode {
		mode = fmt.Sprintf("old mode %o\nnew mode %o\n", p.a.Mode, p.b.Mode)
	}
	if p.a != nil && p.b != nil && p.a.ID == p.b.ID {
		return mode, nil
	}
	a, err := content(code, p.a)
	if err != nil {
		return "", fmt.Errorf("diff %s: %w", p.path, err)
	}
	b, err := content(code, p.b)
	if err != nil {
		return "", fmt.Errorf("diff %s: %w", p.path, err)
	}
	switch {
	case isBinary(a) || isBinary(b):
		return mode + BinaryMessage, nil
	case len(a) > bigFile || len(b) > bigFile:
		return mode + TooLargeMessage, nil
	}
	return mode + Text(a, b), nil
}

// CodeDiff returns the diffs of every file that differs between the two
// sides' code, read through code, by path, each after a
// "--- a/path\n+++ b/path\n" header (with /dev/null for the missing side
// of an added or removed file, as git writes it); "" when the code is the
// same.
func CodeDiff(code Code, a, b Side) (string, error) {
	pairs, err := changedFiles(code, a.Source, b.Source)
	if err != nil {
		return "", err
	}
	var sb strings.Builder
	for _, p := range pairs {
		d, err := fileDiff(code, p)
		if err != nil {
			return "", err
		}
		from, to := "a/"+p.path, "b/"+p.path
		if p.a == nil {
			from = "/dev/null"
		}
		if p.b == nil {
			to = "/dev/null"
		}
		sb.WriteString("--- " + from + "\n+++ " + to + "\n")
		sb.WriteString(d)
	}
	return sb.String(), nil
}
