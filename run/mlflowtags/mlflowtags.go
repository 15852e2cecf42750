// Package mlflowtags is the one mapping between MLflow's runs and
// git-runs' records: which of MLflow's system tags are fields of a record,
// how MLflow's run statuses name git-runs' statuses, and how a param's
// text is typed. git runs serve translates MLflow's clients through it,
// and git runs import translates MLflow's stores, so that a run reads
// the same whichever way it came in.
package mlflowtags

import (
	"strconv"
	"strings"

	"github.com/gitruns/gitruns/run"
	"github.com/gitruns/gitruns/run/codec"
)

// MLflow's system tags that stand for fields of a record, and the one
// git runs import adds.
const (
	// RunName is the run's name: a record keeps it as Name, not as a tag.
	RunName = "mlflow.runName"
	// User is who ran the run; it stays a tag.
	User = "mlflow.user"
	// Commit is the git commit the run ran; a record whose repository
	// has the commit takes it as its source. It stays a tag.
	Commit = "mlflow.source.git.commit"
	// SourceName is the program file the run ran; it stays a tag.
	SourceName = "mlflow.source.name"
	// Parent names the run a nested run is part of: in a record, always
	// the parent's full git-runs id (run.ParentTag).
	Parent = run.ParentTag
	// RunID is the MLflow id of a run that git runs import brought in:
	// a re-import matches runs by it.
	RunID = "mlflow.runId"
)

// StatusName is the MLflow RunStatus of a git-runs status. A crashed run
// is KILLED, as MLflow reports a run whose process went away.
func StatusName(s run.Status) string {
	switch s {
	case run.Finished:
		return "FINISHED"
	case run.Failed:
		return "FAILED"
	case run.Killed, run.Crashed:
		return "KILLED"
	}
	return "RUNNING"
}

// ParseStatus reads an MLflow RunStatus by name or number (MLflow's file
// store writes numbers, its database and REST API names). SCHEDULED is
// running: it has not ended.
func ParseStatus(s string) (run.Status, bool) {
	switch strings.ToUpper(s) {
	case "RUNNING", "1", "SCHEDULED", "2":
		return run.Running, true
	case "FINISHED", "3":
		return run.Finished, true
	case "FAILED", "4":
		return run.Failed, true
	case "KILLED", "5":
		return run.Killed, true
	}
	return "", false
}

// ParamValue types a param's text as the command line types KEY=VALUE
// arguments ("100" is an integer), unless its text would not come back
// the same: MLflow's clients get back the string they sent, so "1e3" and
// "01" stay strings.
func ParamValue(s string) any {
	v := codec.ParseValue(s)
	if _, ok := v.(string); ok || ParamString(v) != s {
		return s
	}
	return v
}

// ParamString is the text MLflow shows of a typed param.
func ParamString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	case bool:
		return strconv.FormatBool(x)
	}
	return run.FormatValue(v)
}
