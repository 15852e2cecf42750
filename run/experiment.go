package run

import (
	"fmt"
	"maps"
	"slices"
	"time"
	"unicode"
	"unicode/utf8"
)

// Experiment is a named group of runs, as MLflow has them.
//
// Runs name their experiment in their records (Record.Experiment), not by
// id: an experiment claims the runs recorded under its name and under
// each of its former names, so that a rename rewrites no run.
type Experiment struct {
	ID   string // decimal digits; "0" is the Default experiment
	Name string // unique among experiments (see ExperimentByName for clones that disagree)
	// Former holds the names it had before renames: runs recorded under
	// them still belong to it.
	Former  []string
	Tags    map[string]string
	Deleted bool      // MLflow's lifecycle_stage "deleted"; restore clears it
	Created time.Time // UTC, ms precision
	Updated time.Time // UTC, ms precision; merges take the newer copy by it
}

// The Default experiment: the one runs belong to when they name none.
// Records name it "default", which stays among its former names whatever
// it is renamed to.
const (
	DefaultExperimentID   = "0"
	DefaultExperimentName = "Default"
	// DefaultRecordExperiment is what a record names when it was started
	// in no experiment in particular.
	DefaultRecordExperiment = "default"
)

// ExperimentEntry is one experiment as a store lists it: the commit it is
// at, and what that commit holds.
type ExperimentEntry struct {
	ID         string      // the id the store keeps it under
	Commit     string      // 40 hex digits in the git store
	Experiment *Experiment // nil when Err is set
	Err        error       // the experiment could not be read
}

// Clone returns a copy of e that shares no memory with it.
func (e *Experiment) Clone() Experiment {
	c := *e
	c.Former = slices.Clone(e.Former)
	c.Tags = maps.Clone(e.Tags)
	if c.Tags == nil {
		c.Tags = map[string]string{}
	}
	return c
}

// Claims tells whether runs recorded under name belong to e: name is its
// name or one of its former names.
func (e *Experiment) Claims(name string) bool {
	return e.Name == name || slices.Contains(e.Former, name)
}

// maxExperimentIDLen bounds an experiment id: 18 digits always fit an
// int64, which MLflow's own stores and many clients parse ids into.
const maxExperimentIDLen = 18

// ValidExperimentID reports whether id can be an experiment's id: "0", or
// up to 18 decimal digits without a leading zero, so that each number has
// one spelling and one ref.
func ValidExperimentID(id string) bool {
	if id == DefaultExperimentID {
		return true
	}
	if id == "" || len(id) > maxExperimentIDLen || id[0] == '0' {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] < '0' || id[i] > '9' {
			return false
		}
	}
	return true
}

// CompareExperimentIDs orders valid experiment ids as the numbers they
// spell.
func CompareExperimentIDs(a, b string) int {
	if len(a) != len(b) {
		return len(a) - len(b)
	}
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// ValidateExperimentName checks an experiment's name: 1 to 250 bytes of
// valid UTF-8 without control characters (tab and newline among them) or
// line separators. Anything else MLflow allows is allowed, slashes and
// spaces included ("/Users/ada/churn model"), so that names made by
// MLflow's clients are kept as they are. Errors are one line.
func ValidateExperimentName(name string) error {
	if problem := experimentNameProblem(name); problem != "" {
		return fmt.Errorf("invalid experiment name %q: %s", shorten(name), problem)
	}
	return nil
}

func experimentNameProblem(name string) string {
	switch {
	case name == "":
		return "empty"
	case len(name) > MaxKeyLen:
		return fmt.Sprintf("longer than %d bytes", MaxKeyLen)
	case !utf8.ValidString(name):
		return "not valid UTF-8"
	}
	for _, r := range name {
		switch {
		case r == '\t':
			return "tab is not allowed"
		case r == '\n' || r == '\r':
			return "newline is not allowed"
		case r == '\u2028' || r == '\u2029':
			return "line separator is not allowed"
		case unicode.IsControl(r):
			return fmt.Sprintf("control character %U is not allowed", r)
		}
	}
	return ""
}
