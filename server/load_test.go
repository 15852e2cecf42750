package server_test

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gitruns/gitruns/server"
)

// client is one MLflow client with connections of its own, as each
// process of a sweep has: the harness's helpers share
// http.DefaultClient and fail the test from the goroutine they run on,
// which the concurrent clients here must not do.
type client struct {
	base string
	hc   *http.Client
	ctx  context.Context // cancels its requests; nil for none
}

func newClient(base string) *client {
	return &client{base: base, hc: &http.Client{
		Transport: &http.Transport{MaxIdleConnsPerHost: 2, DisableCompression: true},
		Timeout:   2 * time.Minute,
	}}
}

func (c *client) close() { c.hc.CloseIdleConnections() }

// send sends one request to the MLflow API (body already JSON, or nil)
// and returns the status and the whole answer. An error is a failure of
// the transport: no answer came.
func (c *client) send(method, route string, body []byte) (int, []byte, error) {
	return c.do(method, "/api/2.0/mlflow/"+route, body)
}

// do sends one request to path on the server.
func (c *client) do(method, path string, body []byte) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	ctx := c.ctx
	if ctx == nil {
		ctx = context.Background()
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := c.hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return 0, nil, err
	}
	return res.StatusCode, b, nil
}

// call sends a request whose body is v encoded as JSON, and returns the
// answer decoded into out (when not nil); any status but 200 is an error.
func (c *client) call(method, route string, v, out any) error {
	var body []byte
	if v != nil {
		var err error
		if body, err = json.Marshal(v); err != nil {
			return err
		}
	}
	status, b, err := c.send(method, route, body)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, route, err)
	}
	return answer(method, route, status, b, out)
}

// answer checks a status and decodes the answer into out.
func answer(method, route string, status int, b []byte, out any) error {
	if status != http.StatusOK {
		return fmt.Errorf("%s %s: status %d: %s", method, route, status, b)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("%s %s: answer is not JSON: %v: %.200s", method, route, err, b)
	}
	return nil
}

// createRun creates a run in the default experiment and returns its id.
func (c *client) createRun(name string) (string, error) {
	var res struct {
		Run struct {
			Info struct {
				RunID string `json:"run_id"`
			} `json:"info"`
		} `json:"run"`
	}
	req := map[string]any{"experiment_id": "0", "run_name": name, "start_time": time.Now().UnixMilli()}
	if err := c.call("POST", "runs/create", req, &res); err != nil {
		return "", err
	}
	if res.Run.Info.RunID == "" {
		return "", errors.New("runs/create: no run id in the answer")
	}
	return res.Run.Info.RunID, nil
}

// point is a metric point as MLflow's API carries it.
type point struct {
	Key       string  `json:"key"`
	Value     float64 `json:"value"`
	Timestamp int64   `json:"timestamp"`
	Step      int64   `json:"step"`
}

// history pages through metrics/get-history as MLflow's client does,
// page_token after page_token, with pages of size points.
func (c *client) history(id, key string, size int) ([]point, error) {
	var all []point
	tok := ""
	for {
		q := url.Values{"run_id": {id}, "metric_key": {key}, "max_results": {strconv.Itoa(size)}}
		if tok != "" {
			q.Set("page_token", tok)
		}
		var res struct {
			Metrics []point `json:"metrics"`
			Next    string  `json:"next_page_token"`
		}
		if err := c.call("GET", "metrics/get-history?"+q.Encode(), nil, &res); err != nil {
			return nil, err
		}
		if len(res.Metrics) > size {
			return nil, fmt.Errorf("history of %s %s: a page of %d points, asked for %d", id, key, len(res.Metrics), size)
		}
		for _, m := range res.Metrics {
			if m.Key != key {
				return nil, fmt.Errorf("history of %s %s: a point of key %q", id, key, m.Key)
			}
		}
		all = append(all, res.Metrics...)
		if res.Next == "" {
			return all, nil
		}
		// A page that brings nothing, or the same token again, would
		// have a client page for ever.
		if len(res.Metrics) == 0 || res.Next == tok {
			return nil, fmt.Errorf("history of %s %s: page token %q after %d points leads nowhere", id, key, res.Next, len(all))
		}
		tok = res.Next
	}
}

// runInfo is what the checks read of runs/get.
type runInfo struct {
	Status string
	Params map[string]string
	Tags   map[string]string
	Last   map[string]float64 // the latest value of each metric
}

func (c *client) getRun(id string) (runInfo, error) {
	var res struct {
		Run struct {
			Info struct {
				Status string `json:"status"`
			} `json:"info"`
			Data struct {
				Metrics []point `json:"metrics"`
				Params  []struct{ Key, Value string }
				Tags    []struct{ Key, Value string }
			} `json:"data"`
		} `json:"run"`
	}
	if err := c.call("GET", "runs/get?run_id="+url.QueryEscape(id), nil, &res); err != nil {
		return runInfo{}, err
	}
	ri := runInfo{Status: res.Run.Info.Status, Params: map[string]string{}, Tags: map[string]string{}, Last: map[string]float64{}}
	for _, p := range res.Run.Data.Params {
		ri.Params[p.Key] = p.Value
	}
	for _, p := range res.Run.Data.Tags {
		ri.Tags[p.Key] = p.Value
	}
	for _, m := range res.Run.Data.Metrics {
		ri.Last[m.Key] = m.Value
	}
	return ri, nil
}

// The points of the load tests: each client logs steps 0, 1, … of two
// keys in turn, with values whose decimal forms are long (1/(step+3)), so
// that any rounding on the way shows, and timestamps of their own.
var loadKeys = []string{"loss", "acc"}

const loadEpoch = int64(1_700_000_000_000)

func planPoint(client, i int) point {
	step := int64(i / len(loadKeys))
	key := loadKeys[i%len(loadKeys)]
	v := float64(client) + 1/float64(step+3)
	if key == "acc" {
		v = -v
	}
	return point{Key: key, Value: v, Timestamp: loadEpoch + int64(client)*1_000_000 + step*3 + int64(i%len(loadKeys)), Step: step}
}

func planPoints(client, n int) []point {
	ps := make([]point, n)
	for i := range ps {
		ps[i] = planPoint(client, i)
	}
	return ps
}

// The sizes of TestLoadConcurrentClients. Each client logs loadPoints
// points in rounds of a log-batch of loadBatch metrics then loadSingles
// log-metric calls: 8,000 points in 16 batches and 2,000 single calls.
// Half the points through single calls, 80,000 calls in all, would take
// the test well past a minute under -race on two cores (2,000 a client
// take about 30 s, 36 s with both cores busy elsewhere); 2,018 calls a
// run are still a hundred times the commits the test allows.
const (
	loadClients = 16
	loadPoints  = 10_000
	loadBatch   = 500
	loadSingles = 125
)

// TestLoadConcurrentClients has 16 clients, each with its own run and
// connections, log 10,000 points at once through log-batch and single
// log-metric calls, and checks that every point is there, exactly,
// through the API and the command line, and that runs were committed at
// checkpoints, not per call.
func TestLoadConcurrentClients(t *testing.T) {
	s := startServer(t, server.Options{})
	ids := make([]string, loadClients)
	calls := make([]int, loadClients)
	errs := make([]error, loadClients)
	var wg sync.WaitGroup
	for c := range loadClients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ids[c], calls[c], errs[c] = loadClient(s.URL, c)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}

	cl := newClient(s.URL)
	defer cl.close()
	want := map[string][]point{}
	for c, id := range ids {
		ps := planPoints(c, loadPoints)
		want[id] = ps
		ri, err := cl.getRun(id)
		if err != nil {
			t.Fatal(err)
		}
		last := ps[len(ps)-len(loadKeys):]
		wantParams := map[string]string{"lr": "0.01", "client": strconv.Itoa(c), "layers": "4"}
		if ri.Status != "FINISHED" || ri.Tags["phase"] != "done" || ri.Tags["client"] != strconv.Itoa(c) ||
			!mapsEqual(ri.Params, wantParams) || ri.Last[last[0].Key] != last[0].Value || ri.Last[last[1].Key] != last[1].Value {
			t.Errorf("run %d (%s): runs/get gives %+v", c, id, ri)
		}
		for _, key := range loadKeys {
			wantKey := pointsOf(ps, key)
			// MLflow's client asks for pages of 25,000; an odd page size
			// makes the page tokens work too.
			for _, size := range []int{25_000, 777} {
				got, err := cl.history(id, key, size)
				if err != nil {
					t.Fatal(err)
				}
				if err := samePoints(got, wantKey); err != nil {
					t.Errorf("run %d (%s), get-history of %s in pages of %d: %v", c, id, key, size, err)
				}
			}
		}
	}

	// The command line reads the same points from the commits.
	exported := exportPoints(t, s.Dir)
	if len(exported) != loadClients {
		t.Errorf("git runs export: %d runs, want %d", len(exported), loadClients)
	}
	for id, ps := range want {
		for _, key := range loadKeys {
			if err := samePoints(exported[id][key], pointsOf(ps, key)); err != nil {
				t.Errorf("git runs export, run %s, %s: %v", id, key, err)
			}
		}
	}

	// A commit per call would be thousands; the runs are committed at
	// checkpoints (every 30 s at the least) and at their end.
	commits := runCommits(t, s.Dir)
	for c, id := range ids {
		if n := commits[id]; n < 1 || n >= 20 {
			t.Errorf("run %d (%s): %d commits for %d calls, want 1 to 19", c, id, n, calls[c])
		}
	}
	t.Logf("calls per run: %d; commits per run: %v", calls[0], commitCounts(commits, ids))
	fsck(t, s.Dir)
}

// loadClient is one client of TestLoadConcurrentClients: it creates a
// run, logs its points and ends it, and returns the run's id and the
// number of calls it made.
func loadClient(base string, c int) (string, int, error) {
	cl := newClient(base)
	defer cl.close()
	id, err := cl.createRun(fmt.Sprintf("load-%d", c))
	if err != nil {
		return "", 0, err
	}
	calls := 1
	ps := planPoints(c, loadPoints)
	for round, i := 0, 0; i < len(ps); round++ {
		batch := map[string]any{"run_id": id, "metrics": ps[i:min(i+loadBatch, len(ps))]}
		// Params and tags come with some batches, as MLflow's autologging
		// sends them; the last batch replaces a tag.
		switch {
		case round == 0:
			batch["params"] = []kvJSON{{"lr", "0.01"}, {"client", strconv.Itoa(c)}}
			batch["tags"] = []kvJSON{{"phase", "warm"}}
		case round == 3:
			batch["params"] = []kvJSON{{"layers", "4"}, {"lr", "0.01"}} // the same lr again is no change
			batch["tags"] = []kvJSON{{"client", strconv.Itoa(c)}}
		case i+loadBatch+loadSingles >= len(ps):
			batch["tags"] = []kvJSON{{"phase", "done"}}
		}
		if err := cl.call("POST", "runs/log-batch", batch, nil); err != nil {
			return id, calls, fmt.Errorf("client %d: %w", c, err)
		}
		calls++
		i = min(i+loadBatch, len(ps))
		for end := min(i+loadSingles, len(ps)); i < end; i++ {
			status, b, err := cl.send("POST", "runs/log-metric", logMetricBody(id, ps[i]))
			if err == nil {
				err = answer("POST", "runs/log-metric", status, b, nil)
			}
			if err != nil {
				return id, calls, fmt.Errorf("client %d: %w", c, err)
			}
			calls++
		}
	}
	if err := cl.call("POST", "runs/update", map[string]any{"run_id": id, "status": "FINISHED", "end_time": time.Now().UnixMilli()}, nil); err != nil {
		return id, calls, fmt.Errorf("client %d: %w", c, err)
	}
	return id, calls + 1, nil
}

// logMetricBody is the body of a log-metric call, written by hand:
// encoding it with encoding/json took a third of the load test's time
// under -race, on the clients' side.
func logMetricBody(id string, p point) []byte {
	b := make([]byte, 0, 160)
	b = append(b, `{"run_id":`...)
	b = strconv.AppendQuote(b, id)
	b = append(b, `,"key":`...)
	b = strconv.AppendQuote(b, p.Key)
	b = append(b, `,"value":`...)
	b = strconv.AppendFloat(b, p.Value, 'g', -1, 64)
	b = append(b, `,"timestamp":`...)
	b = strconv.AppendInt(b, p.Timestamp, 10)
	b = append(b, `,"step":`...)
	b = strconv.AppendInt(b, p.Step, 10)
	return append(b, '}')
}

type kvJSON struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func pointsOf(ps []point, key string) []point {
	var out []point
	for _, p := range ps {
		if p.Key == key {
			out = append(out, p)
		}
	}
	return out
}

// samePoints tells how got differs from want, as sets of points with
// their exact step, timestamp and value (MLflow promises no order).
func samePoints(got, want []point) error {
	g, w := slices.Clone(got), slices.Clone(want)
	for _, s := range [][]point{g, w} {
		slices.SortFunc(s, comparePoints)
	}
	if len(g) != len(w) {
		return fmt.Errorf("%d points, want %d", len(g), len(w))
	}
	for i := range g {
		if g[i] != w[i] {
			return fmt.Errorf("point %d is %+v, want %+v", i, g[i], w[i])
		}
	}
	return nil
}

func comparePoints(a, b point) int {
	return cmp.Or(
		strings.Compare(a.Key, b.Key),
		cmp.Compare(a.Step, b.Step),
		cmp.Compare(a.Timestamp, b.Timestamp),
		cmp.Compare(math.Float64bits(a.Value), math.Float64bits(b.Value)),
	)
}

// exportPoints runs git runs export and returns its points by run and
// key.
func exportPoints(t testing.TB, dir string) map[string]map[string][]point {
	t.Helper()
	rows, err := csv.NewReader(strings.NewReader(cli(t, dir, "export"))).ReadAll()
	if err != nil {
		t.Fatalf("git runs export: %v", err)
	}
	if len(rows) == 0 || strings.Join(rows[0], ",") != "run,name,key,step,timestamp,value" {
		t.Fatalf("git runs export: header %v", rows[:min(len(rows), 1)])
	}
	out := map[string]map[string][]point{}
	for _, r := range rows[1:] {
		step, err1 := strconv.ParseInt(r[3], 10, 64)
		ts, err2 := strconv.ParseInt(r[4], 10, 64)
		v, err3 := strconv.ParseFloat(r[5], 64)
		if err := errors.Join(err1, err2, err3); err != nil {
			t.Fatalf("git runs export: row %v: %v", r, err)
		}
		if out[r[0]] == nil {
			out[r[0]] = map[string][]point{}
		}
		out[r[0]][r[2]] = append(out[r[0]][r[2]], point{Key: r[2], Step: step, Timestamp: ts, Value: v})
	}
	return out
}

// runCommits counts the commits of each run in the object store,
// reachable or not. A run's commits do not chain: each checkpoint's
// parents are the code the run ran (gitstore's writeRunCommit), and it
// replaces the one before under refs/runs/<id>, which keeps no reflog. So
// the ref's history cannot tell how many were written; the objects can,
// as git prunes none younger than two weeks.
func runCommits(t testing.TB, dir string) map[string]int {
	t.Helper()
	var commits []string
	for _, l := range strings.Split(git(t, dir, "cat-file", "--batch-all-objects", "--batch-check=%(objecttype) %(objectname)"), "\n") {
		if h, ok := strings.CutPrefix(l, "commit "); ok {
			commits = append(commits, h)
		}
	}
	cmd := exec.Command("git", "cat-file", "--batch")
	cmd.Dir = dir
	cmd.Stdin = strings.NewReader(strings.Join(commits, "\n") + "\n")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("git cat-file --batch: %v", err)
	}
	n := map[string]int{}
	rd := bufio.NewReader(bytes.NewReader(out))
	for range commits {
		head, err := rd.ReadString('\n')
		if err != nil {
			t.Fatalf("git cat-file --batch: %v", err)
		}
		f := strings.Fields(head)
		size, err := strconv.Atoi(f[len(f)-1])
		if err != nil || len(f) != 3 {
			t.Fatalf("git cat-file --batch: header %q", head)
		}
		body := make([]byte, size+1)
		if _, err := io.ReadFull(rd, body); err != nil {
			t.Fatalf("git cat-file --batch: %v", err)
		}
		for _, l := range strings.Split(string(body), "\n") {
			if id, ok := strings.CutPrefix(l, "Run-Id: "); ok {
				n[id]++
			}
		}
	}
	return n
}

func commitCounts(commits map[string]int, ids []string) []int {
	out := make([]int, len(ids))
	for i, id := range ids {
		out[i] = commits[id]
	}
	return out
}

// serveProc is a `git runs serve` process of the built binary.
type serveProc struct {
	cmd    *exec.Cmd
	URL    string
	stderr *syncBuffer
	done   chan struct{} // closed once the process has exited and been reaped
	err    error         // of Wait, once done is closed
}

// syncBuffer is a bytes.Buffer that a process writes while the test
// reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// startServe starts `git runs serve --port port` on the repository at
// dir and returns once it prints the address it serves on.
func startServe(dir string, port int) (*serveProc, error) {
	cmd := exec.Command(binary, "-C", dir, "serve", "--port", strconv.Itoa(port))
	cmd.Env = testEnv(os.Getenv("HOME"))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	sp := &serveProc{cmd: cmd, stderr: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stderr = sp.stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	urlC := make(chan string, 1)
	read := make(chan struct{})
	go func() {
		defer close(read)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), "git-runs: serving MLflow's API on "); ok {
				urlC <- u
			}
		}
	}()
	go func() {
		<-read // Wait closes the pipe: every read must be done first
		sp.err = cmd.Wait()
		close(sp.done)
	}()
	select {
	case sp.URL = <-urlC:
		return sp, nil
	case <-sp.done:
		return nil, fmt.Errorf("git runs serve exited before serving: %v\n%s", sp.err, sp.stderr)
	case <-time.After(time.Minute):
		sp.kill()
		return nil, fmt.Errorf("git runs serve printed no address within a minute\n%s", sp.stderr)
	}
}

// startServeOn starts the server on a port that a server just killed
// was listening on, trying again while the port cannot be bound yet.
func startServeOn(dir string, port int) (*serveProc, error) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		sp, err := startServe(dir, port)
		if err == nil || !strings.Contains(err.Error(), "address already in use") || time.Now().After(deadline) {
			return sp, err
		}
		time.Sleep(50 * time.Millisecond) // a backoff between attempts to bind, bounded by the deadline
	}
}

// kill kills the server with SIGKILL, as a crash or the OOM killer
// would, and reaps it: a zombie would still count as a live owner.
func (sp *serveProc) kill() {
	sp.cmd.Process.Signal(syscall.SIGKILL)
	<-sp.done
}

// stop asks the server to stop, as Ctrl-C does, and waits for it.
func (sp *serveProc) stop() error {
	if err := sp.cmd.Process.Signal(os.Interrupt); err != nil {
		return err
	}
	select {
	case <-sp.done:
		return sp.err
	case <-time.After(30 * time.Second):
		sp.kill()
		return errors.New("git runs serve did not stop within 30 s of an interrupt")
	}
}

// retry sends a request until the server answers it, as MLflow's client
// does (urllib3's Retry: a refused or broken connection is tried again
// after a growing backoff): a failure of the transport is tried again,
// after 10 ms doubled up to 320 ms, until the client's context is done.
// An answer, whatever its status, is final. It returns the answer and
// how many attempts were made, each of which may have reached a server.
func (c *client) retry(failures *atomic.Int64, method, route string, body []byte) (int, []byte, int, error) {
	backoff := 10 * time.Millisecond
	for attempt := 1; ; attempt++ {
		status, b, err := c.send(method, route, body)
		if err == nil {
			return status, b, attempt, nil
		}
		failures.Add(1)
		select {
		case <-c.ctx.Done():
			return 0, nil, attempt, fmt.Errorf("%s %s: no answer after %d attempts: %w", method, route, attempt, err)
		case <-time.After(backoff): // the client's backoff between attempts, as MLflow's has
		}
		backoff = min(2*backoff, 320*time.Millisecond)
	}
}

// The sizes of TestKillServerMidLoad: each client logs killPoints points
// in rounds of a log-batch of killBatch metrics and killSingles
// log-metric calls.
const (
	killClients = 8
	killPoints  = 4_000
	killBatch   = 200
	killSingles = 50
)

// killClient is what one client of TestKillServerMidLoad did.
type killClient struct {
	n        int
	id       string
	sends    []int        // attempts made of the request that carried each planned point
	acked    atomic.Int64 // planned points acknowledged, a prefix of the plan
	failures atomic.Int64 // attempts that got no answer
	err      error
}

// TestKillServerMidLoad kills the server (kill -9) while 8 clients log
// into their runs, and starts it again on the same port: the clients
// retry and log on, and every point the dead server acknowledged is
// there, each run finished, none crashed or doubled, and git finds the
// repository sound. While no server runs, another git-runs command sees
// the runs running: their leases keep them alive.
func TestKillServerMidLoad(t *testing.T) {
	dir := newRepo(t)
	sp, err := startServe(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	servers := []*serveProc{sp}
	t.Cleanup(func() {
		for _, sp := range servers {
			select {
			case <-sp.done:
			default:
				sp.kill()
			}
			if t.Failed() {
				t.Logf("server %s said:\n%s", sp.URL, sp.stderr)
			}
		}
	})
	u, err := url.Parse(sp.URL)
	if err != nil {
		t.Fatal(err)
	}
	_, portText, err := net.SplitHostPort(u.Host)
	if err != nil {
		t.Fatal(err)
	}
	port, _ := strconv.Atoi(portText)

	killed := make(chan struct{})
	var killOnce sync.Once
	releaseClients := func() { killOnce.Do(func() { close(killed) }) }
	defer releaseClients() // a test that fails before the kill lets its clients go

	deadline := time.Now().Add(3 * time.Minute)
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	clients := make([]*killClient, killClients)
	var wg sync.WaitGroup
	for c := range clients {
		kc := &killClient{n: c, sends: make([]int, killPoints)}
		clients[c] = kc
		wg.Add(1)
		go func() {
			defer wg.Done()
			kc.err = kc.log(ctx, sp.URL, killed)
		}()
	}
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	// Cleanups run last first: a test that fails midway stops its
	// clients before its servers are killed.
	t.Cleanup(func() {
		cancel()
		<-finished
	})

	// Kill the server once every client has a good part of its points
	// acknowledged.
	for {
		least := int64(killPoints)
		for _, kc := range clients {
			least = min(least, kc.acked.Load())
		}
		if least >= killPoints*2/5 {
			break
		}
		select {
		case <-finished:
			for _, kc := range clients {
				if kc.err != nil {
					t.Fatal(kc.err)
				}
			}
			t.Fatal("the clients finished before the server was killed")
		case <-time.After(5 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("the clients did not log 40% of their points within 3 minutes")
		}
	}
	sp.kill()
	ackedAtKill := make([]int64, len(clients))
	ids := make([]string, len(clients))
	for i, kc := range clients {
		ackedAtKill[i], ids[i] = kc.acked.Load(), kc.id
	}
	releaseClients()

	// No server runs: another process sees the runs running, and does not
	// end them as crashed, their owner being dead.
	cli(t, dir, "ls")
	for _, rec := range lsJSON(t, dir) {
		if rec.Status != "running" {
			t.Errorf("with the server dead, git runs ls shows run %s %s", rec.ID, rec.Status)
		}
	}
	if got := lsIDs(lsJSON(t, dir)); !slices.Equal(got, sorted(ids)) {
		t.Errorf("with the server dead, git runs ls lists %v, want %v", got, sorted(ids))
	}

	sp2, err := startServeOn(dir, port)
	if err != nil {
		t.Fatal(err)
	}
	servers = append(servers, sp2)
	if sp2.URL != sp.URL {
		t.Fatalf("the new server is at %s, the clients at %s", sp2.URL, sp.URL)
	}
	select {
	case <-finished:
	case <-time.After(time.Until(deadline)):
		t.Fatal("the clients did not finish within 3 minutes")
	}
	for _, kc := range clients {
		if kc.err != nil {
			t.Fatal(kc.err)
		}
		// Each run lived through the kill: the client was cut off.
		if kc.failures.Load() == 0 {
			t.Errorf("client %d never lost the server", kc.n)
		}
	}

	cl := newClient(sp2.URL)
	defer cl.close()
	exported := exportPoints(t, dir)
	dups := 0
	for i, kc := range clients {
		ri, err := cl.getRun(kc.id)
		if err != nil {
			t.Fatal(err)
		}
		if ri.Status != "FINISHED" || ri.Params["lr"] != "0.01" || ri.Tags["phase"] != "done" {
			t.Errorf("run %d (%s): runs/get gives %+v", kc.n, kc.id, ri)
		}
		plan := planPoints(kc.n, killPoints)
		for _, key := range loadKeys {
			got, err := cl.history(kc.id, key, 25_000)
			if err != nil {
				t.Fatal(err)
			}
			n, err := kc.check(plan, key, got)
			if err != nil {
				t.Errorf("run %d (%s), get-history of %s (%d acknowledged before the kill): %v", kc.n, kc.id, key, ackedAtKill[i], err)
			}
			dups += n
			if _, err := kc.check(plan, key, exported[kc.id][key]); err != nil {
				t.Errorf("run %d (%s), git runs export, %s: %v", kc.n, kc.id, key, err)
			}
		}
	}
	t.Logf("acknowledged before the kill: %v; points logged twice by retried requests: %d", ackedAtKill, dups)
	recs := lsJSON(t, dir)
	if got := lsIDs(recs); !slices.Equal(got, sorted(ids)) {
		t.Errorf("git runs ls lists %v, want %v", got, sorted(ids))
	}
	for _, rec := range recs {
		if rec.Status != "finished" {
			t.Errorf("run %s is %s, want finished", rec.ID, rec.Status)
		}
	}
	fsck(t, dir)
	if err := sp2.stop(); err != nil {
		t.Errorf("git runs serve: %v\n%s", err, sp2.stderr)
	}
	fsck(t, dir)
}

// log creates the client's run, logs its points, retrying what gets no
// answer, and ends the run. A client about to finish before the server
// was killed waits for the kill, so that every run lives through it.
func (kc *killClient) log(ctx context.Context, base string, killed <-chan struct{}) error {
	cl := newClient(base)
	cl.ctx = ctx
	defer cl.close()
	post := func(route string, v any) (int, error) {
		body, err := json.Marshal(v)
		if err != nil {
			return 0, err
		}
		status, b, attempts, err := cl.retry(&kc.failures, "POST", route, body)
		if err != nil {
			return attempts, fmt.Errorf("client %d: %w", kc.n, err)
		}
		return attempts, answer("POST", route, status, b, nil)
	}
	var res struct {
		Run struct {
			Info struct {
				RunID string `json:"run_id"`
			} `json:"info"`
		} `json:"run"`
	}
	body, _ := json.Marshal(map[string]any{"experiment_id": "0", "run_name": fmt.Sprintf("kill-%d", kc.n)})
	status, b, _, err := cl.retry(&kc.failures, "POST", "runs/create", body)
	if err == nil {
		err = answer("POST", "runs/create", status, b, &res)
	}
	if err != nil {
		return fmt.Errorf("client %d: %w", kc.n, err)
	}
	kc.id = res.Run.Info.RunID
	plan := planPoints(kc.n, killPoints)
	for round, i := 0, 0; i < len(plan); round++ {
		if i >= killPoints*9/10 {
			select {
			case <-killed:
			case <-ctx.Done():
				return fmt.Errorf("client %d: %w", kc.n, ctx.Err())
			}
		}
		end := min(i+killBatch, len(plan))
		batch := map[string]any{"run_id": kc.id, "metrics": plan[i:end]}
		if round == 0 {
			batch["params"] = []kvJSON{{"lr", "0.01"}}
		}
		if end+killSingles >= len(plan) {
			batch["tags"] = []kvJSON{{"phase", "done"}}
		}
		attempts, err := post("runs/log-batch", batch)
		if err != nil {
			return err
		}
		for ; i < end; i++ {
			kc.sends[i] = attempts
		}
		kc.acked.Store(int64(i))
		for end = min(i+killSingles, len(plan)); i < end; i++ {
			p := plan[i]
			status, b, attempts, err := cl.retry(&kc.failures, "POST", "runs/log-metric", logMetricBody(kc.id, p))
			if err == nil {
				err = answer("POST", "runs/log-metric", status, b, nil)
			}
			if err != nil {
				return fmt.Errorf("client %d: %w", kc.n, err)
			}
			kc.sends[i] = attempts
			kc.acked.Store(int64(i + 1))
		}
	}
	_, err = post("runs/update", map[string]any{"run_id": kc.id, "status": "FINISHED", "end_time": time.Now().UnixMilli()})
	return err
}

// check checks the points of key that a run holds against what the
// client sent: every point acknowledged is there (every point was, in
// the end), none that was never sent is, and none is there more often
// than its request was sent, a request that the dead server wrote but
// did not answer being sent again. It returns how many points are there
// twice or more.
func (kc *killClient) check(plan []point, key string, got []point) (int, error) {
	at := map[point]int{}
	for i, p := range plan {
		if p.Key == key {
			at[p] = i
		}
	}
	count := make([]int, len(plan))
	for _, p := range got {
		i, ok := at[p]
		if !ok {
			return 0, fmt.Errorf("a point never sent: %+v", p)
		}
		count[i]++
	}
	dups := 0
	for p, i := range at {
		switch {
		case count[i] == 0:
			return 0, fmt.Errorf("acknowledged point %d missing: %+v", i, p)
		case count[i] > kc.sends[i]:
			return 0, fmt.Errorf("point %d there %d times, sent %d: %+v", i, count[i], kc.sends[i], p)
		case count[i] > 1:
			dups += count[i] - 1
		}
	}
	return dups, nil
}

// lsRecord is what the checks read of git runs ls --json.
type lsRecord struct {
	ID     string `json:"id"`
	Status string `json:"status"`
}

func lsJSON(t testing.TB, dir string) []lsRecord {
	t.Helper()
	var recs []lsRecord
	if err := json.Unmarshal([]byte(cli(t, dir, "ls", "--json")), &recs); err != nil {
		t.Fatalf("git runs ls --json: %v", err)
	}
	return recs
}

func lsIDs(recs []lsRecord) []string {
	ids := make([]string, len(recs))
	for i, r := range recs {
		ids[i] = r.ID
	}
	return sorted(ids)
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}
