package run

import (
	"fmt"
	"path"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ValidObjectID reports whether s is a full git object id: 40 (SHA-1) or
// 64 (SHA-256) lowercase hexadecimal digits. Nothing else is: not an
// abbreviation, a ref name or an expression git would resolve, nor
// anything git would read as an option.
func ValidObjectID(s string) bool {
	if len(s) != 40 && len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// CheckSource checks what of a recorded source reaches git and the file
// system when the run's source is checked out or the run is run again, as
// a record fetched from someone else's repository may hold anything: the
// commit and the snapshot are full object ids (ValidObjectID), and the
// directory is a clean relative path in slash form that stays inside the
// source tree, without "..", "." or a backslash (ValidSourceDir). The
// branch is only shown, never given to git, and is not checked. A
// directory that leads out through a symlink of the source can only be
// seen once the source is checked out: see the tracker's Rerun.
func CheckSource(s Source) error {
	if s.Commit != "" && !ValidObjectID(s.Commit) {
		return fmt.Errorf("invalid source commit %q: not a full object id", shorten(s.Commit))
	}
	if s.Snapshot != "" && !ValidObjectID(s.Snapshot) {
		return fmt.Errorf("invalid source snapshot %q: not a full object id", shorten(s.Snapshot))
	}
	return ValidSourceDir(s.Dir)
}

// ValidSourceDir checks a recorded source directory: "" for the top of
// the source tree, else a clean relative path in slash form (no leading
// slash, no empty, "." or ".." element, no backslash), of valid UTF-8
// without control characters.
func ValidSourceDir(d string) error {
	if d == "" {
		return nil
	}
	bad := func(why string) error {
		return fmt.Errorf("invalid source directory %q: %s", shorten(d), why)
	}
	switch {
	case !utf8.ValidString(d):
		return bad("not valid UTF-8")
	case strings.IndexFunc(d, unicode.IsControl) >= 0:
		return bad("control characters are not allowed")
	case strings.HasPrefix(d, "/"):
		return bad("not relative to the source tree")
	case strings.ContainsRune(d, '\\'):
		return bad("backslash is not allowed")
	}
	for _, seg := range strings.Split(d, "/") {
		if seg == ".." {
			return bad("leads out of the source tree")
		}
	}
	if path.Clean(d) != d || d == "." {
		return bad("not a clean path")
	}
	return nil
}
