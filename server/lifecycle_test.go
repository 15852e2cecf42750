package server_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gitruns/gitruns/server"
)

// showJSON is what git runs show --json says of a run, in part.
type showJSON struct {
	ID      string            `json:"id"`
	Name    string            `json:"name"`
	Status  string            `json:"status"`
	Tags    map[string]string `json:"tags"`
	Params  map[string]any    `json:"params"`
	Metrics map[string]struct {
		Last  float64 `json:"last"`
		Count int     `json:"count"`
	} `json:"metrics"`
	Source struct {
		Commit   string `json:"commit"`
		Dirty    bool   `json:"dirty"`
		Snapshot string `json:"snapshot"`
		Dir      string `json:"dir"`
	} `json:"source"`
}

func show(t *testing.T, dir, id string) showJSON {
	t.Helper()
	var out showJSON
	if err := json.Unmarshal([]byte(cli(t, dir, "show", "--json", id)), &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// waitFor polls cond until it holds, failing the test after d.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting after %s for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestRestartKeepsRuns: a server stopped while a client is mid-run loses
// nothing; the next server of the repository serves the same run, and
// the client's next calls log on into it.
func TestRestartKeepsRuns(t *testing.T) {
	dir := newRepo(t)
	s1 := serveRepo(t, dir, server.Options{})
	id := s1.createRun("0", "long")
	s1.api(200, "POST", "runs/log-metric", map[string]any{"run_id": id, "key": "loss", "value": 1.0, "timestamp": 1, "step": 0})
	s1.Stop()
	if st := show(t, dir, id).Status; st != "running" {
		t.Fatalf("between servers the run is %s, want running", st)
	}
	s2 := serveRepo(t, dir, server.Options{})
	s2.api(200, "POST", "runs/log-metric", map[string]any{"run_id": id, "key": "loss", "value": 0.5, "timestamp": 2, "step": 1})
	s2.api(200, "POST", "runs/update", map[string]any{"run_id": id, "status": "FINISHED"})
	got := show(t, dir, id)
	if got.Status != "finished" || got.Metrics["loss"].Count != 2 || got.Metrics["loss"].Last != 0.5 {
		t.Errorf("after the restart: %+v", got)
	}
}

// TestIdleRunsEnd: a run whose client stops calling is ended as crashed
// once the idle time has passed, reported to MLflow's clients as KILLED,
// never left RUNNING forever.
func TestIdleRunsEnd(t *testing.T) {
	s := startServer(t, server.Options{Idle: time.Second})
	id := s.createRun("0", "abandoned")
	s.api(200, "POST", "runs/log-metric", map[string]any{"run_id": id, "key": "loss", "value": 1.0, "timestamp": 1, "step": 0})
	waitFor(t, 30*time.Second, "the abandoned run to end", func() bool {
		return s.api(200, "GET", "runs/get?run_id="+id, nil).Str("run.info.status") == "KILLED"
	})
	if got := show(t, s.Dir, id); got.Status != "crashed" || got.Metrics["loss"].Count != 1 {
		t.Errorf("abandoned run: %+v", got)
	}
}

// TestSourceCapture: a client whose source file lies in the served work
// tree gets exec's capture, uncommitted changes included; one elsewhere
// is tied to the commit it reports when the repository has it, and to
// none otherwise.
func TestSourceCapture(t *testing.T) {
	s := startServer(t, server.Options{})
	head := strings.TrimSpace(git(t, s.Dir, "rev-parse", "HEAD"))
	os.MkdirAll(filepath.Join(s.Dir, "src"), 0o755)
	os.WriteFile(filepath.Join(s.Dir, "src", "train.py"), []byte("print('changed')\n"), 0o644)
	tags := func(kv ...string) []map[string]string {
		var out []map[string]string
		for i := 0; i < len(kv); i += 2 {
			out = append(out, map[string]string{"key": kv[i], "value": kv[i+1]})
		}
		return out
	}
	create := func(tg []map[string]string) string {
		return s.api(200, "POST", "runs/create", map[string]any{"experiment_id": "0", "tags": tg}).Str("run.info.run_id")
	}
	inside := create(tags("mlflow.source.name", filepath.Join(s.Dir, "src", "train.py"), "mlflow.source.git.commit", head))
	outside := create(tags("mlflow.source.name", "/elsewhere/train.py", "mlflow.source.git.commit", head))
	unknown := create(tags("mlflow.source.name", "/elsewhere/train.py", "mlflow.source.git.commit", strings.Repeat("ab", 20)))
	for _, id := range []string{inside, outside, unknown} {
		s.api(200, "POST", "runs/update", map[string]any{"run_id": id, "status": "FINISHED"})
	}
	in := show(t, s.Dir, inside)
	if in.Source.Commit != head || !in.Source.Dirty || in.Source.Snapshot == "" || in.Source.Dir != "src" {
		t.Errorf("client inside the work tree: source %+v", in.Source)
	}
	if got := git(t, s.Dir, "show", in.Source.Snapshot+":src/train.py"); got != "print('changed')\n" {
		t.Errorf("snapshot holds %q", got)
	}
	if out := show(t, s.Dir, outside); out.Source.Commit != head || out.Source.Dirty {
		t.Errorf("client elsewhere: source %+v", out.Source)
	}
	if un := show(t, s.Dir, unknown); un.Source.Commit != "" {
		t.Errorf("client with an unknown commit: source %+v", un.Source)
	}
	// The run commit's parents are the code that ran.
	parents := git(t, s.Dir, "rev-list", "--parents", "-n", "1", "refs/runs/"+inside)
	if !strings.Contains(parents, head) || !strings.Contains(parents, in.Source.Snapshot) {
		t.Errorf("run commit's parents %q lack %s or the snapshot", parents, head)
	}
}

// TestNestedRuns: a child run names its parent, by whatever spelling the
// client used, as the full id; the command line shows the relation.
func TestNestedRuns(t *testing.T) {
	s := startServer(t, server.Options{})
	parent := s.createRun("0", "sweep")
	child := s.api(200, "POST", "runs/create", map[string]any{"experiment_id": "0", "run_name": "trial-1",
		"tags": []map[string]string{{"key": "mlflow.parentRunId", "value": parent}}}).Str("run.info.run_id")
	s.api(400, "POST", "runs/create", map[string]any{"experiment_id": "0",
		"tags": []map[string]string{{"key": "mlflow.parentRunId", "value": "01hf7yat00fxhwdsh1nj6ec59a"}}})
	found := s.api(200, "POST", "runs/search", map[string]any{"experiment_ids": []string{"0"},
		"filter": "tags.mlflow.parentRunId = '" + parent + "'"})
	runs := found.JSON["runs"].([]any)
	if len(runs) != 1 || runs[0].(map[string]any)["info"].(map[string]any)["run_id"] != child {
		t.Errorf("children of the parent: %s", found.Body)
	}
	for _, id := range []string{child, parent} {
		s.api(200, "POST", "runs/update", map[string]any{"run_id": id, "status": "FINISHED"})
	}
	if out := cli(t, s.Dir, "show", child); !strings.Contains(out, "parent") || !strings.Contains(out, "sweep") {
		t.Errorf("git runs show of the child does not name its parent:\n%s", out)
	}
}

// TestExperimentsTravel: an experiment created over HTTP, with no runs,
// is in the repository, and a run created in it records its name.
func TestExperimentsTravel(t *testing.T) {
	s := startServer(t, server.Options{})
	exp := s.api(200, "POST", "experiments/create", map[string]any{"name": "vision"}).Str("experiment_id")
	refs := git(t, s.Dir, "for-each-ref", "--format=%(refname)", "refs/runs-experiments/")
	if refs != "refs/runs-experiments/"+exp+"\n" {
		t.Fatalf("experiment refs: %q", refs)
	}
	id := s.createRun(exp, "in-vision")
	s.api(200, "POST", "runs/update", map[string]any{"run_id": id, "status": "FINISHED"})
	var listed []struct {
		ID         string `json:"id"`
		Experiment string `json:"experiment"`
	}
	if err := json.Unmarshal([]byte(cli(t, s.Dir, "ls", "--json")), &listed); err != nil {
		t.Fatal(err)
	}
	if len(listed) != 1 || listed[0].ID != id || listed[0].Experiment != "vision" {
		t.Errorf("git runs ls --json: %+v", listed)
	}
	got := s.api(200, "GET", "runs/get?run_id="+id, nil)
	if got.Str("run.info.experiment_id") != exp {
		t.Errorf("run's experiment: %s", got.Body)
	}
}

// TestRelativeSourceName: MLflow's clients name their source file as the
// program was started (train.py). The server finds a client on this
// machine by its connection, reads where it runs, and records the code
// as exec would.
func TestRelativeSourceName(t *testing.T) {
	s := startServer(t, server.Options{})
	head := strings.TrimSpace(git(t, s.Dir, "rev-parse", "HEAD"))
	src := filepath.Join(s.Dir, "src")
	os.MkdirAll(src, 0o755)
	os.WriteFile(filepath.Join(src, "train.py"), []byte("print('train')\n"), 0o644)
	client := `import json, sys, urllib.request
body = json.dumps({"experiment_id": "0", "tags": [{"key": "mlflow.source.name", "value": "train.py"}]}).encode()
req = urllib.request.Request(sys.argv[1] + "/api/2.0/mlflow/runs/create", data=body, headers={"Content-Type": "application/json"})
print(json.load(urllib.request.urlopen(req))["run"]["info"]["run_id"])
`
	cmd := exec.Command("python3", "-c", client, s.URL)
	cmd.Dir = src
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("client: %v", err)
	}
	id := strings.TrimSpace(string(out))
	s.api(200, "POST", "runs/update", map[string]any{"run_id": id, "status": "FINISHED"})
	got := show(t, s.Dir, id)
	if got.Source.Commit != head || got.Source.Dir != "src" || !got.Source.Dirty || got.Source.Snapshot == "" {
		t.Errorf("source of a client in src/ naming train.py: %+v", got.Source)
	}
}

// TestClientDeathEndsRun: a client on this machine that dies without
// ending its run (killed, out of memory) has its run ended as crashed
// soon after, not after the idle time.
func TestClientDeathEndsRun(t *testing.T) {
	s := startServer(t, server.Options{Idle: time.Hour, ClientGrace: time.Second})
	client := `import json, sys, urllib.request
def call(route, body):
    req = urllib.request.Request(sys.argv[1] + "/api/2.0/mlflow/" + route, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    return json.load(urllib.request.urlopen(req))
run = call("runs/create", {"experiment_id": "0", "tags": [{"key": "mlflow.source.name", "value": "train.py"}]})
rid = run["run"]["info"]["run_id"]
call("runs/log-metric", {"run_id": rid, "key": "loss", "value": 0.5, "timestamp": 1, "step": 0})
print(rid)
`
	cmd := exec.Command("python3", "-c", client, s.URL)
	cmd.Dir = s.Dir
	out, err := cmd.Output() // exits without ending its run
	if err != nil {
		t.Fatalf("client: %v", err)
	}
	id := strings.TrimSpace(string(out))
	waitFor(t, 30*time.Second, "the run of the dead client to end", func() bool {
		return s.api(200, "GET", "runs/get?run_id="+id, nil).Str("run.info.status") == "KILLED"
	})
	if got := show(t, s.Dir, id); got.Status != "crashed" || got.Metrics["loss"].Count != 1 {
		t.Errorf("run of the dead client: %+v", got)
	}
}
