package outlog

import (
	"fmt"
	"regexp"
	"strconv"
)

// ReadFrom returns the output kept by the Log named by prefix
// from byte offset off of the whole output on, as far as it is still on
// disk: data starts at offset from, which is greater than off when the
// bytes in between were cut, and next is the offset after it. It is how a
// watcher follows a live run's output.
func ReadFrom(prefix string, off int64) (data []byte, from, next int64, err error) {
	tail, start, end, err := readTails(prefix, 0, 0)
	if err != nil {
		return nil, off, off, fmt.Errorf("read output log: %w", err)
	}
	head, err := readIfExists(prefix + ".head")
	if err != nil {
		return nil, off, off, fmt.Errorf("read output log: %w", err)
	}
	hl := int64(len(head))
	if off < hl {
		return head[off:], off, hl, nil
	}
	if tail == nil || off >= end {
		return nil, off, off, nil
	}
	if off < start {
		return tail, start, end, nil
	}
	return tail[off-start:], off, end, nil
}

var cutNote = regexp.MustCompile(`\n?\[git-runs: (\d+) bytes of output cut here\]\n`)

// Since returns the part of a run's stored output log (what
// Read assembled) that comes after byte offset off of the whole
// output, and from, the offset it starts at.
func Since(log []byte, off int64) (data []byte, from int64) {
	m := cutNote.FindSubmatchIndex(log)
	if m == nil {
		if off >= int64(len(log)) {
			return nil, off
		}
		return log[off:], off
	}
	cut, _ := strconv.ParseInt(string(log[m[2]:m[3]]), 10, 64)
	// A line end before the note was added with it, not printed.
	head, tail := log[:m[0]], log[m[1]:]
	hl := int64(len(head))
	if off < hl {
		return append(append([]byte(nil), head[off:]...), tail...), off
	}
	start := hl + cut
	if off < start {
		return tail, start
	}
	if off-start >= int64(len(tail)) {
		return nil, off
	}
	return tail[off-start:], off
}
