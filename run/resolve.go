package run

import (
	"fmt"
	"strconv"
	"strings"
)

// Resolve finds the run that spec names among runs listed newest first
// (ids[i] and names[i] describe the same run) and returns its index. spec
// is a full id, a unique id prefix of 4 or more characters, a run name,
// "@" (the newest run) or "@~N" (the Nth run before it).
func Resolve(ids, names []string, spec string) (int, error) {
	if spec == "" {
		return -1, fmt.Errorf("empty run name")
	}
	if n, ok, err := Position(spec); ok || err != nil {
		if err != nil {
			return -1, err
		}
		if n >= len(ids) {
			return -1, PositionError(spec, len(ids))
		}
		return n, nil
	}
	for i, id := range ids {
		if id == spec {
			return i, nil
		}
	}
	var byName []int
	for i, n := range names {
		if n == spec {
			byName = append(byName, i)
		}
	}
	if len(byName) == 1 {
		return byName[0], nil
	}
	if len(byName) > 1 {
		return -1, ambiguous(spec, ids, names, byName)
	}
	if len(spec) >= 4 {
		var byPrefix []int
		for i, id := range ids {
			if strings.HasPrefix(id, strings.ToLower(spec)) {
				byPrefix = append(byPrefix, i)
			}
		}
		if len(byPrefix) == 1 {
			return byPrefix[0], nil
		}
		if len(byPrefix) > 1 {
			return -1, ambiguous(spec, ids, names, byPrefix)
		}
	} else if isIDPrefix(spec) {
		return -1, NotFound("no run %q: an id prefix needs at least 4 characters", spec)
	}
	return -1, NotFound("no run %q", spec)
}

// Position reads spec as "@" (0, the newest run) or "@~N" (N). ok is
// false for a spec of another form; err tells of a malformed one.
func Position(spec string) (n int, ok bool, err error) {
	if spec != "@" && !strings.HasPrefix(spec, "@~") {
		return 0, false, nil
	}
	if spec == "@" {
		return 0, true, nil
	}
	n, err = strconv.Atoi(spec[2:])
	if err != nil || n < 0 {
		return 0, false, fmt.Errorf("invalid run %q: want @ or @~N", spec)
	}
	return n, true, nil
}

// PositionError says that no run is at position spec among total runs.
func PositionError(spec string, total int) error {
	if total == 0 {
		return NotFound("no run %s: there are no runs", spec)
	}
	return NotFound("no run %s: there are only %d runs", spec, total)
}

func isIDPrefix(s string) bool {
	for _, c := range s {
		if !strings.ContainsRune(idAlphabet, c) {
			return false
		}
	}
	return true
}

func ambiguous(spec string, ids, names []string, at []int) error {
	const show = 8
	var parts []string
	for j, i := range at {
		if j == show {
			parts = append(parts, fmt.Sprintf("and %d more", len(at)-show))
			break
		}
		parts = append(parts, ids[i]+" ("+names[i]+")")
	}
	return fmt.Errorf("run %q is ambiguous: %s", spec, strings.Join(parts, ", "))
}
