package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gitruns/gitruns/gitstore"
	"github.com/gitruns/gitruns/run/tracker"
	"github.com/gitruns/gitruns/server"
)

// binary is the git-runs command built for the tests, by TestMain.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "gitruns-server-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "git-runs")
	build := exec.Command("go", "build", "-o", binary, "../cmd/git-runs")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build git-runs:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// testEnv is the environment of git and git-runs in the tests: a home of
// their own with an identity, no system configuration.
func testEnv(home string) []string {
	env := []string{"HOME=" + home, "XDG_CONFIG_HOME=" + filepath.Join(home, ".config"), "GIT_CONFIG_NOSYSTEM=1", "NO_COLOR=1", "USER=ada", "GITRUNS_RUN="}
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "PATH=") || strings.HasPrefix(kv, "TMPDIR=") || strings.HasPrefix(kv, "GOCOVERDIR=") {
			env = append(env, kv)
		}
	}
	return env
}

// newRepo makes a git repository with one commit, in a home of its own.
func newRepo(t testing.TB) string {
	t.Helper()
	root := t.TempDir()
	home := filepath.Join(root, "home")
	dir := filepath.Join(root, "repo")
	os.MkdirAll(home, 0o755)
	os.WriteFile(filepath.Join(home, ".gitconfig"), []byte("[user]\n\tname = Ada Runner\n\temail = ada@example.com\n[init]\n\tdefaultBranch = main\n"), 0o644)
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, ".config"))
	t.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	t.Setenv("USER", "ada")
	git(t, root, "init", "-q", dir)
	// The detached git gc --auto that gitstore may start on Close would
	// outlive the test and write into the directory as it is removed.
	git(t, dir, "config", "gc.auto", "0")
	os.WriteFile(filepath.Join(dir, "train.py"), []byte("print('hello')\n"), 0o644)
	git(t, dir, "add", "train.py")
	git(t, dir, "commit", "-qm", "first")
	return dir
}

// git runs git in dir and returns its standard output, failing the test
// when it fails.
func git(t testing.TB, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return out.String()
}

// cli runs the git-runs binary in dir and returns its standard output,
// failing the test when it fails.
func cli(t testing.TB, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"-C", dir}, args...)...)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("git-runs %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return out.String()
}

// fsck checks the repository with git itself.
func fsck(t testing.TB, dir string) {
	t.Helper()
	git(t, dir, "fsck", "--full", "--strict", "--no-progress")
}

// testServer is a server of a fresh repository, in this process, on
// 127.0.0.1.
type testServer struct {
	t    testing.TB
	Dir  string
	URL  string
	T    *tracker.Tracker
	Repo *gitstore.Repo
	stop func() error
}

// startServer serves a new repository until the test ends, then stops the
// server and checks the repository with git fsck.
func startServer(t testing.TB, o server.Options) *testServer {
	t.Helper()
	return serveRepo(t, newRepo(t), o)
}

// serveRepo serves the repository at dir until the test ends.
func serveRepo(t testing.TB, dir string, o server.Options) *testServer {
	t.Helper()
	repo, err := gitstore.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	tr := tracker.New(repo, tracker.Options{Warn: func(err error) { t.Logf("warning: %v", err) }})
	if o.Addr == "" {
		o.Addr = "127.0.0.1:0"
	}
	srv, err := server.New(tr, o)
	if err != nil {
		repo.Close()
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	ts := &testServer{t: t, Dir: dir, URL: srv.URL(), T: tr, Repo: repo}
	stopped := false
	ts.stop = func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		err := <-done
		repo.Close()
		return err
	}
	t.Cleanup(func() {
		if err := ts.stop(); err != nil {
			t.Errorf("serve: %v", err)
		}
		fsck(t, dir)
	})
	return ts
}

// Stop stops the server, letting go of its runs without ending them.
func (s *testServer) Stop() {
	s.t.Helper()
	if err := s.stop(); err != nil {
		s.t.Fatalf("serve: %v", err)
	}
}

// response is an answer of the server.
type response struct {
	Status int
	Body   []byte
	JSON   map[string]any
	Header http.Header
}

// Str returns the string at the dotted path of the JSON answer ("run.info.run_id").
func (r response) Str(path string) string {
	var v any = r.JSON
	for _, k := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return ""
		}
		v = m[k]
	}
	s, _ := v.(string)
	return s
}

// do sends a request with body (JSON-encoded unless it is a string or
// []byte) and returns the answer.
func (s *testServer) do(method, path string, body any) response {
	s.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			s.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, s.URL+path, rd)
	if err != nil {
		s.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		s.t.Fatal(err)
	}
	out := response{Status: res.StatusCode, Body: b, Header: res.Header}
	if strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(b, &out.JSON); err != nil {
			s.t.Fatalf("%s %s: answer is not JSON: %v\n%s", method, path, err, b)
		}
	}
	return out
}

// api sends a request to the MLflow API and fails the test unless it is
// answered with status.
func (s *testServer) api(status int, method, route string, body any) response {
	s.t.Helper()
	r := s.do(method, "/api/2.0/mlflow/"+route, body)
	if r.Status != status {
		s.t.Fatalf("%s %s: status %d, want %d\n%s", method, route, r.Status, status, r.Body)
	}
	return r
}

// createRun creates a run in experiment exp and returns its id.
func (s *testServer) createRun(exp, name string) string {
	s.t.Helper()
	r := s.api(200, "POST", "runs/create", map[string]any{"experiment_id": exp, "run_name": name, "start_time": time.Now().UnixMilli()})
	id := r.Str("run.info.run_id")
	if id == "" {
		s.t.Fatalf("runs/create: no run id in %s", r.Body)
	}
	return id
}
