package mlflowrest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/gitruns/gitruns/run"
	"github.com/gitruns/gitruns/run/importer"
	"github.com/gitruns/gitruns/run/importer/internal/importtest"
	"github.com/gitruns/gitruns/run/importer/mlflowrest"
	"github.com/gitruns/gitruns/run/mlflowtags"
	"github.com/gitruns/gitruns/run/tracker"
	"github.com/gitruns/gitruns/server"
)

var ctx = context.Background()

// git runs git in dir, with git as referee.
var git = importtest.Git

// repo makes a git repository with one commit, and its tracker.
func repo(t testing.TB) (string, *tracker.Tracker) {
	r := importtest.NewRepo(t)
	return r.Dir, r.Tracker
}

// serve serves repository dir with git runs serve's server on loopback
// until the test ends, and returns its URL.
func serve(t testing.TB, tr *tracker.Tracker) string {
	t.Helper()
	srv, err := server.New(tr, server.Options{Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	c, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(c) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return srv.URL()
}

// mlflowClient logs into a server as MLflow's Python client does, by its
// REST API.
type mlflowClient struct {
	t    testing.TB
	base string
}

func (c mlflowClient) post(endpoint string, body any) map[string]any {
	c.t.Helper()
	b, _ := json.Marshal(body)
	resp, err := http.Post(c.base+"/api/2.0/mlflow/"+endpoint, "application/json", bytes.NewReader(b))
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		c.t.Fatalf("%s: %s: %s", endpoint, resp.Status, data)
	}
	var out map[string]any
	json.Unmarshal(data, &out)
	return out
}

func (c mlflowClient) upload(exp, id, p string, content []byte) {
	c.t.Helper()
	req, _ := http.NewRequest("PUT", c.base+"/api/2.0/mlflow-artifacts/artifacts/"+exp+"/"+id+"/artifacts/"+p, bytes.NewReader(content))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		c.t.Fatalf("upload %s: %s: %s", p, resp.Status, data)
	}
}

// metricJSON is a point as log-batch takes it; its value may be "NaN".
func metricJSON(key string, v float64, ts, step int64) map[string]any {
	var val any = v
	switch {
	case math.IsNaN(v):
		val = "NaN"
	case math.IsInf(v, 1):
		val = "Infinity"
	case math.IsInf(v, -1):
		val = "-Infinity"
	}
	return map[string]any{"key": key, "value": val, "timestamp": ts, "step": step}
}

// record logs runs into the server at base as MLflow code would: two
// experiments, a parent with nested children, typed params, tags, long
// histories with NaN and infinities, artifacts in directories, a failed
// run and a deleted one. It returns how many runs it made.
func record(t *testing.T, base string, runs, points int) int {
	c := mlflowClient{t, base}
	exp := c.post("experiments/create", map[string]any{"name": "churn"})["experiment_id"].(string)
	c.post("experiments/set-experiment-tag", map[string]any{"experiment_id": exp, "key": "team", "value": "growth"})
	start := int64(1_780_000_000_000)
	newRun := func(exp, name string, tags map[string]string) string {
		var kvs []map[string]string
		for k, v := range tags {
			kvs = append(kvs, map[string]string{"key": k, "value": v})
		}
		res := c.post("runs/create", map[string]any{"experiment_id": exp, "run_name": name, "start_time": start, "tags": kvs})
		return res["run"].(map[string]any)["info"].(map[string]any)["run_id"].(string)
	}
	parent := newRun(exp, "sweep", map[string]string{"team": "growth"})
	made := 1
	for i := range runs {
		e := exp
		if i%3 == 2 {
			e = "0" // MLflow's Default experiment
		}
		tags := map[string]string{"fold": fmt.Sprint(i), "note": "with spaces and ünïcode"}
		if e == exp {
			tags[mlflowtags.Parent] = parent
		}
		id := newRun(e, fmt.Sprintf("trial-%d", i), tags)
		made++
		var ms []map[string]any
		for s := range points {
			v := float64(s) / 3
			switch s {
			case 5:
				v = math.NaN()
			case 6:
				v = math.Inf(1)
			case 7:
				v = math.Inf(-1)
			}
			ms = append(ms, metricJSON("loss", v, start+int64(s)*10, int64(s)))
			if s%4 == 0 {
				ms = append(ms, metricJSON("acc", 1-v/float64(points), start+int64(s)*10+1, int64(s)))
			}
		}
		for len(ms) > 0 {
			n := min(len(ms), 1000)
			c.post("runs/log-batch", map[string]any{"run_id": id, "metrics": ms[:n]})
			ms = ms[n:]
		}
		c.post("runs/log-batch", map[string]any{"run_id": id, "params": []map[string]string{
			{"key": "lr", "value": "0.01"}, {"key": "depth", "value": fmt.Sprint(3 + i)},
			{"key": "optimizer", "value": "adam"}, {"key": "sci", "value": "1e3"},
		}})
		c.upload(e, id, "model.txt", []byte(fmt.Sprintf("weights of trial %d\n", i)))
		c.upload(e, id, "plots/deep/loss.csv", bytes.Repeat([]byte("0.5,"), 100+i))
		status := "FINISHED"
		if i == 1 {
			status = "FAILED"
		}
		c.post("runs/update", map[string]any{"run_id": id, "status": status, "end_time": start + int64(points)*10 + 500})
		if i == 3 {
			c.post("runs/delete", map[string]any{"run_id": id})
		}
	}
	c.post("runs/update", map[string]any{"run_id": parent, "status": "FINISHED", "end_time": start + 1_000_000})
	return made
}

// check holds every run of a in b, imported: by its id kept in
// mlflow.runId, with its name, experiment, status, times, params, tags,
// every point of every history, and every artifact byte for byte.
func check(t *testing.T, a, b *tracker.Tracker, deleted bool) {
	t.Helper()
	as, err := a.Runs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	bs, err := b.Runs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	byRunID := map[string]tracker.Run{}
	aID := map[string]string{} // b's id of each run of a
	for _, r := range bs.All {
		byRunID[r.Record.Tags[mlflowtags.RunID]] = r
	}
	for _, ra := range as.All {
		if rb, ok := byRunID[ra.ID]; ok {
			aID[ra.ID] = rb.ID
		}
	}
	n := 0
	for _, ra := range as.All {
		_, isDeleted := ra.Record.Tags[run.DeletedTag]
		rb, ok := byRunID[ra.ID]
		if isDeleted && !deleted {
			if ok {
				t.Errorf("run %s, deleted in A, was imported", ra.ID)
			}
			continue
		}
		if !ok {
			t.Errorf("run %s (%s) not imported", ra.ID, ra.Record.Name)
			continue
		}
		n++
		ea, eb := ra.Record, rb.Record
		if ea.Name != eb.Name || ea.Experiment != eb.Experiment || ea.Status != eb.Status {
			t.Errorf("run %s: name, experiment, status %q %q %q; A has %q %q %q", ra.ID, eb.Name, eb.Experiment, eb.Status, ea.Name, ea.Experiment, ea.Status)
		}
		if !ea.Started.Equal(eb.Started) || !ea.Ended.Equal(eb.Ended) {
			t.Errorf("run %s: times %v-%v; A has %v-%v", ra.ID, eb.Started, eb.Ended, ea.Started, ea.Ended)
		}
		if !reflect.DeepEqual(ea.Params, eb.Params) {
			t.Errorf("run %s: params %#v; A has %#v", ra.ID, eb.Params, ea.Params)
		}
		for k, v := range ea.Tags {
			switch {
			case k == run.DeletedTag:
				if _, ok := eb.Tags[k]; !ok {
					t.Errorf("run %s: deleted in A, not put aside in B", ra.ID)
				}
			case k == mlflowtags.Parent:
				if eb.Tags[k] != aID[v] || aID[v] == "" {
					t.Errorf("run %s: parent %q; want B's id of %s, %q", ra.ID, eb.Tags[k], v, aID[v])
				}
			case strings.HasPrefix(k, "gitruns."):
			default:
				if eb.Tags[k] != v {
					t.Errorf("run %s: tag %s = %q; A has %q", ra.ID, k, eb.Tags[k], v)
				}
			}
		}
		ha, err := a.History(ctx, ra)
		if err != nil {
			t.Fatal(err)
		}
		hb, err := b.History(ctx, rb)
		if err != nil {
			t.Fatal(err)
		}
		if len(ha) != len(hb) {
			t.Errorf("run %s: %d metrics; A has %d", ra.ID, len(hb), len(ha))
		}
		for k, pa := range ha {
			pb := hb[k]
			if len(pa) != len(pb) {
				t.Errorf("run %s: metric %s has %d points; A has %d", ra.ID, k, len(pb), len(pa))
				continue
			}
			for i := range pa {
				if pa[i].Step != pb[i].Step || pa[i].Time != pb[i].Time || math.Float64bits(pa[i].Value) != math.Float64bits(pb[i].Value) {
					t.Errorf("run %s: metric %s point %d is %+v; A has %+v", ra.ID, k, i, pb[i], pa[i])
					break
				}
			}
		}
		checkArtifacts(t, a, b, ra, rb)
	}
	if n == 0 {
		t.Fatal("no run checked")
	}
}

func checkArtifacts(t *testing.T, a, b *tracker.Tracker, ra, rb tracker.Run) {
	t.Helper()
	la, err := a.Artifacts(ctx, ra)
	if err != nil {
		t.Fatal(err)
	}
	lb, err := b.Artifacts(ctx, rb)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(la, lb) {
		t.Errorf("run %s: artifacts %v; A has %v", ra.ID, lb, la)
		return
	}
	for _, f := range la {
		ca, cb := readArtifact(t, a, ra, f.Path), readArtifact(t, b, rb, f.Path)
		if !bytes.Equal(ca, cb) {
			t.Errorf("run %s: artifact %s is %q; A has %q", ra.ID, f.Path, cb, ca)
		}
	}
}

func readArtifact(t *testing.T, tr *tracker.Tracker, r tracker.Run, p string) []byte {
	rc, err := tr.OpenArtifact(ctx, r, p)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func open(t *testing.T, base string, o mlflowrest.Options) *mlflowrest.Source {
	t.Helper()
	s, err := mlflowrest.Open(base, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestImportFromServe records runs into repository A through git runs
// serve's MLflow API, serves A, imports from it into B, and holds B's
// runs to A's.
func TestImportFromServe(t *testing.T) {
	dirA, a := repo(t)
	base := serve(t, a)
	made := record(t, base, 6, 40)
	dirB, b := repo(t)

	res, err := importer.Import(ctx, b, open(t, base, mlflowrest.Options{}), importer.Options{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if refs := git(t, dirB, "for-each-ref", "refs/runs/"); refs != "" {
		t.Fatalf("dry run wrote runs:\n%s", refs)
	}
	if got := res.Count(importer.New); got != made-1 || res.Deleted != 1 {
		t.Fatalf("dry run: %s; want %d new, 1 deleted", res.Summary(true), made-1)
	}

	res, err = importer.Import(ctx, b, open(t, base, mlflowrest.Options{}), importer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Problems) > 0 || res.Count(importer.New) != made-1 {
		t.Fatalf("import: %s: %v", res.Summary(false), res.Problems)
	}
	check(t, a, b, false)
	e, err := b.ExperimentByName(ctx, "churn")
	if err != nil || e.Tags["team"] != "growth" {
		t.Errorf("experiment churn: %+v, %v; want it made with tag team=growth", e, err)
	}

	// Again: nothing new. Then the deleted run too, put aside.
	res, err = importer.Import(ctx, b, open(t, base, mlflowrest.Options{}), importer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Count(importer.Unchanged) != made-1 || res.Count(importer.New)+res.Count(importer.Updated) != 0 {
		t.Errorf("second import: %s; want all unchanged", res.Summary(false))
	}
	if _, err := importer.Import(ctx, b, open(t, base, mlflowrest.Options{}), importer.Options{IncludeDeleted: true}); err != nil {
		t.Fatal(err)
	}
	check(t, a, b, true)
	git(t, dirA, "fsck", "--full", "--strict")
	git(t, dirB, "fsck", "--full", "--strict")
}

// counter counts the calls through a proxy to the server, by endpoint,
// and those that asked for a page after the first.
type counter struct {
	mu    sync.Mutex
	calls map[string]int
	paged map[string]int
}

func (c *counter) proxy(t *testing.T, base string) string {
	u, _ := url.Parse(base)
	rp := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		c.mu.Lock()
		c.calls[r.URL.Path]++
		if r.URL.Query().Get("page_token") != "" || bytes.Contains(body, []byte(`"page_token"`)) {
			c.paged[r.URL.Path]++
		}
		c.mu.Unlock()
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestPaging imports more runs and points than one page holds, through
// a proxy that sees the pages asked for.
func TestPaging(t *testing.T) {
	_, a := repo(t)
	base := serve(t, a)
	made := record(t, base, 7, 100)
	c := &counter{calls: map[string]int{}, paged: map[string]int{}}
	via := c.proxy(t, base)
	dirB, b := repo(t)
	res, err := importer.Import(ctx, b, open(t, via, mlflowrest.Options{RunsPage: 2, HistoryPage: 7}), importer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Problems) > 0 || res.Count(importer.New) != made-1 {
		t.Fatalf("import: %s: %v", res.Summary(false), res.Problems)
	}
	check(t, a, b, false)
	// 5 runs of churn at 2 a page; 100 points of loss at 7 a page.
	if c.paged["/api/2.0/mlflow/runs/search"] < 2 {
		t.Errorf("runs/search asked for %d later pages; want 2 or more", c.paged["/api/2.0/mlflow/runs/search"])
	}
	if got, want := c.paged["/api/2.0/mlflow/metrics/get-history"], (made-2)*(100/7); got < want {
		t.Errorf("get-history asked for %d later pages; want %d or more", got, want)
	}
	git(t, dirB, "fsck", "--full", "--strict")
}

func TestMain(m *testing.M) {
	// The server's runs and the downloads go below a directory of the
	// test's own.
	tmp, err := os.MkdirTemp("", "mlflowrest-test-")
	if err != nil {
		panic(err)
	}
	os.Setenv("TMPDIR", tmp)
	code := m.Run()
	if left, _ := filepath.Glob(filepath.Join(tmp, "gitruns-import-*")); code == 0 && len(left) > 0 {
		fmt.Fprintln(os.Stderr, "downloads left behind:", left)
		code = 1
	}
	os.RemoveAll(tmp)
	os.Exit(code)
}

// TestOneExperiment searches the runs of the experiment asked for only.
func TestOneExperiment(t *testing.T) {
	_, a := repo(t)
	base := serve(t, a)
	made := record(t, base, 6, 5)
	_, b := repo(t)
	src := open(t, base, mlflowrest.Options{Experiments: []string{"churn"}})
	res, err := importer.Import(ctx, b, src, importer.Options{Experiments: []string{"churn"}})
	if err != nil {
		t.Fatal(err)
	}
	// churn holds the parent and trials 0, 1, 3 (deleted) and 4; the
	// Default experiment's trials 2 and 5 are not even listed.
	if res.Count(importer.New) != 4 || res.Deleted != 1 || res.Filtered != 0 || made != 7 {
		t.Errorf("%s, %d filtered; want 4 new, 1 deleted, none listed of other experiments", res.Summary(false), res.Filtered)
	}
}
