package mlflow

import (
	"maps"
	"slices"
	"strings"

	"github.com/gitruns/gitruns/run"
	"github.com/gitruns/gitruns/run/mlflowtags"
)

// The shapes of MLflow's messages, as JSON.

type kv struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

type metricJSON struct {
	Key       string    `json:"key"`
	Value     jsonFloat `json:"value"`
	Timestamp int64     `json:"timestamp"`
	Step      int64     `json:"step"`
	RunID     string    `json:"run_id,omitempty"`
}

type runInfoJSON struct {
	RunID          string `json:"run_id"`
	RunUUID        string `json:"run_uuid"`
	RunName        string `json:"run_name"`
	ExperimentID   string `json:"experiment_id"`
	UserID         string `json:"user_id"`
	Status         string `json:"status"`
	StartTime      int64  `json:"start_time"`
	EndTime        *int64 `json:"end_time,omitempty"`
	ArtifactURI    string `json:"artifact_uri"`
	LifecycleStage string `json:"lifecycle_stage"`
}

type runDataJSON struct {
	Metrics []metricJSON `json:"metrics"`
	Params  []kv         `json:"params"`
	Tags    []kv         `json:"tags"`
}

type runJSON struct {
	Info    runInfoJSON `json:"info"`
	Data    runDataJSON `json:"data"`
	Inputs  any         `json:"inputs"`
	Outputs any         `json:"outputs,omitempty"`
}

// The system tags of MLflow that are fields of the record, as the
// mapping shared with git runs import names them.
const (
	tagRunName = mlflowtags.RunName
	tagUser    = mlflowtags.User
	tagCommit  = mlflowtags.Commit
	tagSource  = mlflowtags.SourceName
	tagParent  = mlflowtags.Parent
)

// statusName is the MLflow RunStatus of a git-runs status.
func statusName(s run.Status) string { return mlflowtags.StatusName(s) }

// parseStatus reads a RunStatus by name or number.
func parseStatus(s string) (run.Status, error) {
	if st, ok := mlflowtags.ParseStatus(s); ok {
		return st, nil
	}
	return "", invalid("invalid run status %q: want RUNNING, FINISHED, FAILED or KILLED", s)
}

// artifactURI is where a run's artifacts go: through this server's
// artifact proxy, into the run.
func artifactURI(exp, id string) string {
	return "mlflow-artifacts:/" + exp + "/" + id + "/artifacts"
}

// runInfo is the RunInfo of a record in experiment exp.
func runInfo(rec *run.Record, exp string) runInfoJSON {
	info := runInfoJSON{
		RunID: rec.ID, RunUUID: rec.ID, RunName: rec.Name, ExperimentID: exp,
		UserID: rec.Host.User, Status: statusName(rec.Status),
		StartTime:   rec.Started.UnixMilli(),
		ArtifactURI: artifactURI(exp, rec.ID), LifecycleStage: "active",
	}
	if u := rec.Tags[tagUser]; u != "" {
		info.UserID = u
	}
	if !rec.Ended.IsZero() {
		end := rec.Ended.UnixMilli()
		info.EndTime = &end
	}
	if _, ok := rec.Tags[run.DeletedTag]; ok {
		info.LifecycleStage = "deleted"
	}
	return info
}

// runData is the RunData of a record: the latest value of each metric,
// params as MLflow's strings, and the tags with the system tags that are
// fields of the record.
func runData(rec *run.Record) runDataJSON {
	d := runDataJSON{Metrics: []metricJSON{}, Params: []kv{}, Tags: []kv{}}
	// A summary written before summaries kept their time has none: the
	// record's last write stands for it.
	ts := rec.Updated
	if !rec.Ended.IsZero() {
		ts = rec.Ended
	}
	if ts.IsZero() {
		ts = rec.Started
	}
	for _, k := range slices.Sorted(maps.Keys(rec.Metrics)) {
		m := rec.Metrics[k]
		t := m.Time
		if t == 0 {
			t = ts.UnixMilli()
		}
		d.Metrics = append(d.Metrics, metricJSON{Key: k, Value: jsonFloat(m.Last), Timestamp: t, Step: m.Step})
	}
	for _, k := range slices.Sorted(maps.Keys(rec.Params)) {
		d.Params = append(d.Params, kv{k, paramString(rec.Params[k])})
	}
	tags := maps.Clone(rec.Tags)
	if tags == nil {
		tags = map[string]string{}
	}
	// The server's own bookkeeping (gitruns.*) is no tag of the client's.
	for k := range tags {
		if strings.HasPrefix(k, "gitruns.") {
			delete(tags, k)
		}
	}
	tags[tagRunName] = rec.Name
	if _, ok := tags[tagUser]; !ok && rec.Host.User != "" {
		tags[tagUser] = rec.Host.User
	}
	if _, ok := tags[tagCommit]; !ok && rec.Source.Commit != "" {
		tags[tagCommit] = rec.Source.Commit
	}
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		d.Tags = append(d.Tags, kv{k, tags[k]})
	}
	return d
}

// paramValue types a param as the command line does, as
// mlflowtags.ParamValue says.
func paramValue(s string) any { return mlflowtags.ParamValue(s) }

// paramString is the text MLflow shows of a typed param.
func paramString(v any) string { return mlflowtags.ParamString(v) }
