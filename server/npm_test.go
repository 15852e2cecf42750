package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/gitruns/gitruns/server"
)

// npmDir holds the Node.js client of TestNodeMLflowClient and its locked
// dependencies.
const npmDir = "testdata/npm"

// npmInstall is what to run, from the top of the repository, when the
// client's dependencies are missing.
const npmInstall = "npm ci --prefix server/testdata/npm"

// npmT0 is the start of the runs that client.mjs creates, in ms: it fixes
// every timestamp so that they are checked exactly.
const npmT0 = 1700000000000

// nodeMetric, nodeRun and the rest are the shapes of MLflow's REST
// answers, as client.mjs passes them on.
type nodeMetric struct {
	Key       string  `json:"key"`
	Value     float64 `json:"value"`
	Timestamp int64   `json:"timestamp"`
	Step      int64   `json:"step"`
}

type nodeKV struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

type nodeRunInfo struct {
	RunID          string `json:"run_id"`
	RunUUID        string `json:"run_uuid"`
	RunName        string `json:"run_name"`
	ExperimentID   string `json:"experiment_id"`
	UserID         string `json:"user_id"`
	Status         string `json:"status"`
	StartTime      int64  `json:"start_time"`
	EndTime        *int64 `json:"end_time"`
	LifecycleStage string `json:"lifecycle_stage"`
}

type nodeRun struct {
	Info nodeRunInfo `json:"info"`
	Data struct {
		Metrics []nodeMetric `json:"metrics"`
		Params  []nodeKV     `json:"params"`
		Tags    []nodeKV     `json:"tags"`
	} `json:"data"`
}

type nodeExperiment struct {
	ExperimentID   string `json:"experiment_id"`
	Name           string `json:"name"`
	LifecycleStage string `json:"lifecycle_stage"`
}

// npmResult is what client.mjs writes: each call's answer, by call.
type npmResult struct {
	CreateExperiment struct {
		ExperimentID string `json:"experiment_id"`
	} `json:"create_experiment"`
	CreateExperimentAgain struct {
		Status int `json:"status"`
		Data   struct {
			ErrorCode string `json:"error_code"`
			Message   string `json:"message"`
		} `json:"data"`
	} `json:"create_experiment_again"`
	GetExperiment struct {
		Experiment nodeExperiment `json:"experiment"`
	} `json:"get_experiment"`
	ExperimentByName *nodeExperiment `json:"experiment_by_name"`
	CreateRun        struct {
		Run nodeRun `json:"run"`
	} `json:"create_run"`
	LogBatch     map[string]any `json:"log_batch"`
	GetRunTagged struct {
		Run nodeRun `json:"run"`
	} `json:"get_run_tagged"`
	GetRun struct {
		Run nodeRun `json:"run"`
	} `json:"get_run"`
	CreateBaseline struct {
		Run nodeRun `json:"run"`
	} `json:"create_baseline"`
	SearchFiltered struct {
		Runs []nodeRun `json:"runs"`
	} `json:"search_filtered"`
	SearchOrdered struct {
		Runs []nodeRun `json:"runs"`
	} `json:"search_ordered"`
	LossHistory struct {
		Metrics []nodeMetric `json:"metrics"`
	} `json:"loss_history"`
	UpdateRun struct {
		RunInfo nodeRunInfo `json:"run_info"`
	} `json:"update_run"`
	GetRunFinished struct {
		Run nodeRun `json:"run"`
	} `json:"get_run_finished"`
	ListExperiments struct {
		Experiments []nodeExperiment `json:"experiments"`
	} `json:"list_experiments"`
}

// nodeClient returns the node to run client.mjs with. A missing node or
// node_modules fails the test: CI must run this client, not pass over it.
func nodeClient(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is not installed: install Node.js, then run `%s`", npmInstall)
	}
	var pkg struct {
		Version string `json:"version"`
	}
	b, err := os.ReadFile(filepath.Join(npmDir, "node_modules", "mlflow", "package.json"))
	if err != nil {
		t.Fatalf("the npm mlflow client is not installed: run `%s`", npmInstall)
	}
	if err := json.Unmarshal(b, &pkg); err != nil || pkg.Version != "2.0.7" {
		t.Fatalf("node_modules holds mlflow %q, not the locked 2.0.7: run `%s`", pkg.Version, npmInstall)
	}
	return node
}

// runNodeClient runs client.mjs with node against url and returns what it
// wrote.
func runNodeClient(t *testing.T, node, url string) npmResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	out := filepath.Join(t.TempDir(), "result.json")
	cmd := exec.CommandContext(ctx, node, filepath.Join(npmDir, "client.mjs"), url, out)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	// A child that node left holding the pipes must not hang the test.
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Run(); err != nil {
		t.Fatalf("node client.mjs: %v (context: %v)\nstderr:\n%s\nstdout (the package logs every POST body):\n%s", err, ctx.Err(), stderr.String(), stdout.String())
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatalf("client.mjs wrote no result: %v", err)
	}
	var res npmResult
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatalf("result of client.mjs: %v\n%s", err, b)
	}
	return res
}

// npmKVMap is MLflow's key-value list as a map.
func npmKVMap(kvs []nodeKV) map[string]string {
	m := map[string]string{}
	for _, kv := range kvs {
		m[kv.Key] = kv.Value
	}
	return m
}

// npmRunIDs are the ids of runs, in order.
func npmRunIDs(runs []nodeRun) []string {
	ids := []string{}
	for _, r := range runs {
		ids = append(ids, r.Info.RunID)
	}
	return ids
}

// TestNodeMLflowClient drives the server with a third-party client, the
// mlflow package on npm, through its own API: what it logs must come back
// to it as MLflow's server would answer, and be in git as runs of the
// command line.
func TestNodeMLflowClient(t *testing.T) {
	node := nodeClient(t)
	s := startServer(t, server.Options{})
	res := runNodeClient(t, node, s.URL)

	expID := res.CreateExperiment.ExperimentID
	if expID == "" || expID == "0" {
		t.Fatalf("experiments/create answered id %q", expID)
	}
	if e := res.CreateExperimentAgain; e.Status != 400 || e.Data.ErrorCode != "RESOURCE_ALREADY_EXISTS" {
		t.Errorf("creating npm-exp again: %+v, want 400 RESOURCE_ALREADY_EXISTS", e)
	}
	wantExp := nodeExperiment{ExperimentID: expID, Name: "npm-exp", LifecycleStage: "active"}
	if got := res.GetExperiment.Experiment; got != wantExp {
		t.Errorf("experiments/get: %+v, want %+v", got, wantExp)
	}
	if got := res.ExperimentByName; got == nil || *got != wantExp {
		t.Errorf("npm-exp in experiments/list: %+v, want %+v", got, wantExp)
	}
	listed := map[string]string{}
	for _, e := range res.ListExperiments.Experiments {
		listed[e.ExperimentID] = e.Name
	}
	if want := map[string]string{"0": "Default", expID: "npm-exp"}; !maps.Equal(listed, want) {
		t.Errorf("experiments/list: %v, want %v", listed, want)
	}

	created := res.CreateRun.Run.Info
	id := created.RunID
	if id == "" {
		t.Fatalf("runs/create answered no run id")
	}
	wantCreated := nodeRunInfo{RunID: id, RunUUID: id, RunName: "npm-run", ExperimentID: expID, UserID: "ada", Status: "RUNNING", StartTime: npmT0, LifecycleStage: "active"}
	if !reflect.DeepEqual(created, wantCreated) {
		t.Errorf("runs/create: %+v, want %+v", created, wantCreated)
	}
	baseID := res.CreateBaseline.Run.Info.RunID
	if baseID == "" || baseID == id {
		t.Fatalf("runs/create of the baseline answered id %q (the first run is %s)", baseID, id)
	}
	if len(res.LogBatch) != 0 {
		t.Errorf("runs/log-batch answered %v, want {}", res.LogBatch)
	}

	wantTags := map[string]string{"mlflow.runName": "npm-run", "mlflow.user": "ada", "stage": "batch", "team": "vision"}
	taggedWant := maps.Clone(wantTags)
	taggedWant["doomed"] = "yes"
	if got := npmKVMap(res.GetRunTagged.Run.Data.Tags); !maps.Equal(got, taggedWant) {
		t.Errorf("runs/get after set-tag: tags %v, want %v", got, taggedWant)
	}
	wantParams := map[string]string{"epochs": "100", "lr": "0.01", "optimizer": "adam", "batch_size": "32"}
	// The latest value of each metric, by the greatest step; its
	// timestamp is not compared: the server reports the record's last
	// write for it, not the time the value was logged with.
	type latest struct {
		Value float64
		Step  int64
	}
	wantLatest := map[string]latest{"loss": {0.125, 5}, "accuracy": {0.75, 5}}
	checkRun := func(call string, r nodeRun, status string, end *int64) {
		t.Helper()
		want := wantCreated
		want.Status, want.EndTime = status, end
		if !reflect.DeepEqual(r.Info, want) {
			t.Errorf("%s: info %+v, want %+v", call, r.Info, want)
		}
		if got := npmKVMap(r.Data.Tags); !maps.Equal(got, wantTags) {
			t.Errorf("%s: tags %v, want %v", call, got, wantTags)
		}
		if got := npmKVMap(r.Data.Params); !maps.Equal(got, wantParams) {
			t.Errorf("%s: params %v, want %v", call, got, wantParams)
		}
		got := map[string]latest{}
		for _, m := range r.Data.Metrics {
			got[m.Key] = latest{m.Value, m.Step}
		}
		if !maps.Equal(got, wantLatest) || len(r.Data.Metrics) != len(wantLatest) {
			t.Errorf("%s: metrics %+v, want %v", call, r.Data.Metrics, wantLatest)
		}
	}
	checkRun("runs/get", res.GetRun.Run, "RUNNING", nil)
	end := int64(npmT0 + 6000)
	checkRun("runs/get when finished", res.GetRunFinished.Run, "FINISHED", &end)
	wantFinished := wantCreated
	wantFinished.Status, wantFinished.EndTime = "FINISHED", &end
	if got := res.UpdateRun.RunInfo; !reflect.DeepEqual(got, wantFinished) {
		t.Errorf("runs/update: %+v, want %+v", got, wantFinished)
	}

	if got := npmRunIDs(res.SearchFiltered.Runs); !slices.Equal(got, []string{id}) {
		t.Errorf("runs/search with metrics.loss < 1: %v, want [%s]", got, id)
	} else {
		checkRun("runs/search", res.SearchFiltered.Runs[0], "RUNNING", nil)
	}
	if got := npmRunIDs(res.SearchOrdered.Runs); !slices.Equal(got, []string{baseID, id}) {
		t.Errorf("runs/search by metrics.loss DESC: %v, want [%s %s]", got, baseID, id)
	}

	wantHistory := []nodeMetric{
		{"loss", 2, npmT0, 0}, {"loss", 1, npmT0 + 1000, 1}, {"loss", 0.5, npmT0 + 2000, 2},
		{"loss", 0.25, npmT0 + 3000, 3}, {"loss", 0.125, npmT0 + 5000, 5},
	}
	if got := res.LossHistory.Metrics; !slices.Equal(got, wantHistory) {
		t.Errorf("metrics/get-history of loss: %+v, want %+v", got, wantHistory)
	}

	npmCheckCLI(t, s, id, baseID)
	npmCheckGit(t, s, expID, id)
}

// npmCLIMetric is a metric's summary as git runs prints it.
type npmCLIMetric struct {
	Last  float64 `json:"last"`
	Step  int64   `json:"step"`
	Min   float64 `json:"min"`
	Max   float64 `json:"max"`
	Count int     `json:"count"`
}

// npmCLIRun is a run as git runs ls --json and show --json print it.
type npmCLIRun struct {
	ID         string                   `json:"id"`
	Name       string                   `json:"name"`
	Experiment string                   `json:"experiment"`
	Status     string                   `json:"status"`
	Started    time.Time                `json:"started"`
	Ended      time.Time                `json:"ended"`
	Params     map[string]any           `json:"params"`
	Tags       map[string]string        `json:"tags"`
	Metrics    map[string]npmCLIMetric  `json:"metrics"`
	Commit     string                   `json:"commit"`
	History    map[string][]npmCLIPoint `json:"history"`
}

type npmCLIPoint struct {
	Step      int64   `json:"step"`
	Timestamp int64   `json:"timestamp"`
	Value     float64 `json:"value"`
}

// npmDecodeCLI decodes the JSON git runs printed, numbers as json.Number so
// that an integer param is told from a float.
func npmDecodeCLI(t *testing.T, what, out string, v any) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(out))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: %v\n%s", what, err, out)
	}
}

// npmTyped shows each value of m with its Go type, json.Number for a JSON
// number, so that "100" the string and 100 the number are told apart.
func npmTyped(m map[string]any) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(m)) {
		fmt.Fprintf(&b, "%s=%T(%v) ", k, m[k], m[k])
	}
	return strings.TrimSpace(b.String())
}

// npmCheckCLI checks the runs that client.mjs logged as the command line
// shows them.
func npmCheckCLI(t *testing.T, s *testServer, id, baseID string) {
	t.Helper()
	var ls []npmCLIRun
	npmDecodeCLI(t, "git runs ls --json", cli(t, s.Dir, "ls", "--json"), &ls)
	got := map[string]string{}
	for _, r := range ls {
		got[r.ID] = r.Name + " " + r.Experiment + " " + r.Status
	}
	want := map[string]string{id: "npm-run npm-exp finished", baseID: "npm-baseline npm-exp finished"}
	if !maps.Equal(got, want) {
		t.Errorf("git runs ls: %v, want %v", got, want)
	}

	var shown npmCLIRun
	npmDecodeCLI(t, "git runs show --json", cli(t, s.Dir, "show", "--json", id), &shown)
	if shown.ID != id || shown.Name != "npm-run" || shown.Experiment != "npm-exp" || shown.Status != "finished" {
		t.Errorf("git runs show: id %s name %q experiment %q status %q, want %s npm-run npm-exp finished", shown.ID, shown.Name, shown.Experiment, shown.Status, id)
	}
	if !shown.Started.Equal(time.UnixMilli(npmT0)) || !shown.Ended.Equal(time.UnixMilli(npmT0+6000)) {
		t.Errorf("git runs show: started %v ended %v, want %v and %v", shown.Started, shown.Ended, time.UnixMilli(npmT0).UTC(), time.UnixMilli(npmT0+6000).UTC())
	}
	// MLflow sends every param as a string; git runs types them as the
	// command line does, so 100 is an integer and 0.01 a float.
	wantParams := map[string]any{"epochs": json.Number("100"), "lr": json.Number("0.01"), "batch_size": json.Number("32"), "optimizer": "adam"}
	if !reflect.DeepEqual(shown.Params, wantParams) {
		t.Errorf("git runs show: params %s, want %s", npmTyped(shown.Params), npmTyped(wantParams))
	}
	if n, ok := shown.Params["epochs"].(json.Number); !ok || strings.ContainsAny(n.String(), ".eE") {
		t.Errorf("git runs show: epochs is %#v, want the integer 100", shown.Params["epochs"])
	}
	// mlflow.runName is the run's name, not a tag; doomed was deleted.
	wantTags := map[string]string{"mlflow.user": "ada", "stage": "batch", "team": "vision"}
	if !maps.Equal(shown.Tags, wantTags) {
		t.Errorf("git runs show: tags %v, want %v", shown.Tags, wantTags)
	}
	wantMetrics := map[string]npmCLIMetric{
		"loss":     {Last: 0.125, Step: 5, Min: 0.125, Max: 2, Count: 5},
		"accuracy": {Last: 0.75, Step: 5, Min: 0.5, Max: 0.75, Count: 2},
	}
	if !maps.Equal(shown.Metrics, wantMetrics) {
		t.Errorf("git runs show: metrics %+v, want %+v", shown.Metrics, wantMetrics)
	}
	wantHistory := map[string][]npmCLIPoint{
		"loss":     {{0, npmT0, 2}, {1, npmT0 + 1000, 1}, {2, npmT0 + 2000, 0.5}, {3, npmT0 + 3000, 0.25}, {5, npmT0 + 5000, 0.125}},
		"accuracy": {{4, npmT0 + 4000, 0.5}, {5, npmT0 + 5000, 0.75}},
	}
	if !reflect.DeepEqual(shown.History, wantHistory) {
		t.Errorf("git runs show: history %+v, want %+v", shown.History, wantHistory)
	}
	if head := strings.TrimSpace(git(t, s.Dir, "rev-parse", "refs/runs/"+id)); shown.Commit != head {
		t.Errorf("git runs show: commit %q, refs/runs/%s is %s", shown.Commit, id, head)
	}
}

// npmCheckGit checks that the experiment and the run are in git's own
// terms: a ref holding experiment.toml, and a commit.
func npmCheckGit(t *testing.T, s *testServer, expID, id string) {
	t.Helper()
	refs := git(t, s.Dir, "for-each-ref", "--format=%(refname)", "refs/runs-experiments/")
	ref := "refs/runs-experiments/" + expID
	if refs != ref+"\n" {
		t.Fatalf("experiment refs: %q, want %q", refs, ref+"\n")
	}
	var exp struct {
		ID      string `toml:"id"`
		Name    string `toml:"name"`
		Deleted bool   `toml:"deleted"`
	}
	text := git(t, s.Dir, "cat-file", "-p", ref+":experiment.toml")
	if _, err := toml.Decode(text, &exp); err != nil {
		t.Fatalf("%s:experiment.toml: %v\n%s", ref, err, text)
	}
	if exp.ID != expID || exp.Name != "npm-exp" || exp.Deleted {
		t.Errorf("%s:experiment.toml: %+v, want id %s, name npm-exp, not deleted\n%s", ref, exp, expID, text)
	}
	if got := git(t, s.Dir, "cat-file", "-t", "refs/runs/"+id); got != "commit\n" {
		t.Errorf("refs/runs/%s is a %q, want a commit", id, got)
	}
}
