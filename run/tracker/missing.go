package tracker

import (
	"bytes"
	"strings"
)

// missingTail is how much of the end of a command's output MissingFile
// reads: the error that ended it is near the end, and a long log is not
// read through for it.
const missingTail = 64 << 10

// notFound are the words, lower case, in which programs say a file is not
// there: the C library's strerror(ENOENT) (shells, Python, C and Go
// programs), Rust's, and Python's own for a script it cannot open.
var notFound = []string{"no such file or directory", "no such file", "can't open file", "cannot find the file"}

// MissingFile returns the file that a command's output, as recorded,
// says it did not find, looking at its last lines first: the name in
// Python's "FileNotFoundError: [Errno 2] No such file or directory:
// 'data/x.csv'" or "can't open file 'train.py'", in "cat: data/x.csv: No
// such file or directory", "sh: 1: cannot open data/x.csv: No such file"
// or Go's "open data/x.csv: no such file or directory". It is "" when the
// output says no such thing, and "a file" when it says so without a name
// (perror's "fopen: No such file or directory").
func MissingFile(out []byte) string {
	if len(out) > missingTail {
		out = out[len(out)-missingTail:]
	}
	lines := bytes.Split(out, []byte("\n"))
	general := false
	for i := len(lines) - 1; i >= 0; i-- {
		line := strings.TrimSpace(stripEscapes(string(lines[i])))
		name, found := missingIn(line)
		if name != "" {
			return name
		}
		general = general || found
	}
	if general {
		return "a file"
	}
	return ""
}

// missingIn finds a missing file's name in one line of output, and
// whether the line says a file is missing at all.
func missingIn(line string) (name string, found bool) {
	lower := strings.ToLower(line)
	for _, words := range notFound {
		i := strings.Index(lower, words)
		if i < 0 {
			continue
		}
		// Python names the file after the words, quoted.
		if q := quoted(line[i+len(words):]); q != "" {
			return q, true
		}
		// Others before them, as the last field before ": ".
		found = true
		before := strings.TrimSuffix(strings.TrimSpace(line[:i]), ":")
		if j := strings.LastIndex(before, ": "); j >= 0 {
			before = before[j+2:]
		}
		if name := fileName(before); name != "" {
			return name, true
		}
	}
	return "", found
}

// quoted returns the first quoted name in s, Python's way of naming it.
func quoted(s string) string {
	for _, q := range []string{"'", "\""} {
		a := strings.Index(s, q)
		if a < 0 {
			continue
		}
		if b := strings.Index(s[a+1:], q); b > 0 {
			return s[a+1 : a+1+b]
		}
	}
	return ""
}

// fileName takes the verb off what precedes "No such file" ("cannot
// open x", "open x", "stat x") and the quotes off the name.
func fileName(s string) string {
	for _, verb := range []string{"cannot open ", "can't open ", "cannot access ", "cannot stat ", "open ", "stat ", "lstat "} {
		if rest, ok := strings.CutPrefix(s, verb); ok {
			s = rest
			break
		}
	}
	s = strings.Trim(s, "'\"`‘’")
	if s == "" || strings.ContainsAny(s, " \t") && !strings.Contains(s, "/") || calls[s] {
		// Words, not a name ("error", "fatal error"), or the call that
		// failed, as perror names it.
		return ""
	}
	return s
}

// calls are the system calls and C library functions that perror's
// callers usually name instead of the file.
var calls = map[string]bool{
	"open": true, "fopen": true, "openat": true, "stat": true, "lstat": true, "access": true,
	"opendir": true, "chdir": true, "execvp": true, "execve": true, "realpath": true, "readlink": true,
}

// stripEscapes drops terminal escape sequences (colours) from a line.
func stripEscapes(s string) string {
	if !strings.Contains(s, "\x1b[") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == 0x1b && i+1 < len(s) && s[i+1] == '[' {
			j := i + 2
			for j < len(s) && (s[j] < 0x40 || s[j] > 0x7e) {
				j++
			}
			i = j
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
