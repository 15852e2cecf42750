package mlflowrest_test

import (
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gitruns/gitruns/run/importer"
	"github.com/gitruns/gitruns/run/importer/mlflowrest"
)

// fake is an MLflow server of one experiment and one finished run, whose
// answers a test replaces one endpoint at a time.
type fake map[string]http.HandlerFunc

const fakeRun = `{"runs":[{"info":{"run_id":"aa11","experiment_id":"1","status":"FINISHED","start_time":1780000000000,"end_time":1780000001000,"lifecycle_stage":"active"},
"data":{"metrics":[{"key":"loss","value":0.5,"timestamp":1780000000500,"step":1}],"params":[{"key":"lr","value":"0.1"}],"tags":[]}}]}`

func (f fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h, ok := f[r.URL.Path]; ok {
		h(w, r)
		return
	}
	switch r.URL.Path {
	case "/api/2.0/mlflow/experiments/search":
		fmt.Fprint(w, `{"experiments":[{"experiment_id":"1","name":"exp","lifecycle_stage":"active"}]}`)
	case "/api/2.0/mlflow/runs/search":
		fmt.Fprint(w, fakeRun)
	case "/api/2.0/mlflow/metrics/get-history":
		fmt.Fprint(w, `{"metrics":[{"key":"loss","value":0.5,"timestamp":1780000000500,"step":1}]}`)
	case "/api/2.0/mlflow/artifacts/list":
		fmt.Fprint(w, `{"files":[{"path":"a.txt","is_dir":false,"file_size":5}]}`)
	case "/get-artifact":
		fmt.Fprint(w, "hello")
	default:
		w.WriteHeader(404)
		fmt.Fprint(w, `{"error_code":"ENDPOINT_NOT_FOUND","message":"no such endpoint"}`)
	}
}

func body(s string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, s) }
}

// TestHostile imports from servers that answer what no MLflow server
// would: each is refused with one clear line, and nothing is written.
func TestHostile(t *testing.T) {
	huge := func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"experiments":[`)
		chunk := strings.Repeat(`{"experiment_id":"1","name":"x"},`, 1000)
		for range 100 { // some 3 MB, past the 1 MiB the test allows
			fmt.Fprint(w, chunk)
		}
		fmt.Fprint(w, `{}]}`)
	}
	cases := []struct {
		name  string
		f     fake
		fatal string // the import's error, or else
		prob  string // the one problem, the run not written
	}{
		{"huge answer", fake{"/api/2.0/mlflow/experiments/search": huge}, "experiments/search: the server's answer is larger than 1048576 bytes: refused", ""},
		{"not JSON", fake{"/api/2.0/mlflow/experiments/search": body(`<html>login</html>`)}, "experiments/search: the server's answer is not the JSON MLflow sends", ""},
		{"MLflow error", fake{"/api/2.0/mlflow/experiments/search": func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(403)
			fmt.Fprint(w, `{"error_code":"PERMISSION_DENIED","message":"User ada cannot read\nexperiments"}`)
		}}, `experiments/search: PERMISSION_DENIED: User ada cannot read\nexperiments`, ""},
		{"endless pages", fake{"/api/2.0/mlflow/experiments/search": body(`{"experiments":[],"next_page_token":"again"}`)}, `the server sent page token "again" twice`, ""},
		{"dot-dot path", fake{"/api/2.0/mlflow/artifacts/list": body(`{"files":[{"path":"../../etc/passwd","is_dir":false,"file_size":5}]}`)}, "", `artifacts: the server sent invalid artifact path "../../etc/passwd": ".." is not allowed`},
		{"dot-dot below a directory", fake{"/api/2.0/mlflow/artifacts/list": func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Query().Get("path") == "" {
				fmt.Fprint(w, `{"files":[{"path":"d","is_dir":true}]}`)
			} else {
				fmt.Fprint(w, `{"files":[{"path":"d/../../x","is_dir":false,"file_size":1}]}`)
			}
		}}, "", `".." is not allowed`},
		{"path outside the directory listed", fake{"/api/2.0/mlflow/artifacts/list": func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Query().Get("path") == "" {
				fmt.Fprint(w, `{"files":[{"path":"d","is_dir":true}]}`)
			} else {
				fmt.Fprint(w, `{"files":[{"path":"e/x","is_dir":false,"file_size":1}]}`)
			}
		}}, "", `the server listed "e/x" in directory "d"`},
		{"endless directories", fake{"/api/2.0/mlflow/artifacts/list": func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, `{"files":[{"path":%q,"is_dir":true}]}`, strings.TrimPrefix(r.URL.Query().Get("path")+"/d", "/"))
		}}, "", "directories deeper than 64"},
		{"git directory", fake{"/api/2.0/mlflow/artifacts/list": body(`{"files":[{"path":".git/config","is_dir":false,"file_size":5}]}`)}, "", `".git" is not allowed`},
		{"file larger than listed", fake{"/get-artifact": body(strings.Repeat("x", 1000))}, "", "sends 1000 bytes of a file listed as 5"},
		{"file larger than listed, unannounced", fake{"/get-artifact": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Transfer-Encoding", "chunked")
			w.(http.Flusher).Flush()
			fmt.Fprint(w, strings.Repeat("x", 1000))
		}}, "", "the server sent more than the 5 bytes listed"},
		{"history of another metric", fake{"/api/2.0/mlflow/metrics/get-history": body(`{"metrics":[{"key":"acc","value":1,"timestamp":1,"step":1}]}`)}, "", `metric "loss": the history of "loss" holds a point of "acc"`},
		{"bad value", fake{"/api/2.0/mlflow/metrics/get-history": body(`{"metrics":[{"key":"loss","value":"lots","timestamp":1,"step":1}]}`)}, "", `metric "loss": metrics/get-history: the server's answer is not the JSON MLflow sends`},
		{"bad run id", fake{"/api/2.0/mlflow/runs/search": body(strings.Replace(fakeRun, `"aa11"`, `"../x"`, 1))}, "", `the server sent an invalid run id "../x"`},
		{"run of another experiment", fake{"/api/2.0/mlflow/runs/search": body(strings.Replace(fakeRun, `"experiment_id":"1"`, `"experiment_id":"2"`, 1))}, "", `answered with a run of experiment 2`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := httptest.NewServer(c.f)
			defer srv.Close()
			dir, b := repo(t)
			tmp := t.TempDir()
			src := open(t, srv.URL, mlflowrest.Options{MaxBody: 1 << 20, TempDir: tmp})
			res, err := importer.Import(ctx, b, src, importer.Options{})
			switch {
			case c.fatal != "":
				if err == nil || !strings.Contains(err.Error(), c.fatal) || strings.Contains(err.Error(), "\n") {
					t.Fatalf("error %v; want one line with %q", err, c.fatal)
				}
			case err != nil:
				t.Fatal(err)
			default:
				if len(res.Problems) != 1 || !strings.Contains(res.Problems[0].Error(), c.prob) || strings.Contains(res.Problems[0].Error(), "\n") {
					t.Fatalf("problems %v; want one line with %q", res.Problems, c.prob)
				}
				if !strings.HasPrefix(res.Problems[0].Where, srv.URL+"/#/experiments/") {
					t.Errorf("problem at %q; want the run's page on the server", res.Problems[0].Where)
				}
			}
			if refs := git(t, dir, "for-each-ref", "refs/runs/"); refs != "" {
				t.Fatalf("runs written:\n%s", refs)
			}
			src.Close()
			if left, _ := filepath.Glob(filepath.Join(tmp, "*")); len(left) > 0 {
				t.Errorf("files left: %v", left)
			}
		})
	}
}

// TestFake imports the fake server's run as it is, so that the cases
// above fail for what they change.
func TestFake(t *testing.T) {
	srv := httptest.NewServer(fake{})
	defer srv.Close()
	_, b := repo(t)
	res, err := importer.Import(ctx, b, open(t, srv.URL, mlflowrest.Options{}), importer.Options{})
	if err != nil || len(res.Problems) > 0 || res.Count(importer.New) != 1 {
		t.Fatalf("%v %v %v", res.Summary(false), res.Problems, err)
	}
}

// TestUnreachable names the server and why in one line.
func TestUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, b := repo(t)
	_, err = importer.Import(ctx, b, open(t, "http://"+addr, mlflowrest.Options{}), importer.Options{})
	want := "cannot reach the MLflow server at http://" + addr + ": dial tcp " + addr + ": connect: connection refused"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("error %v; want %q", err, want)
	}
}

// TestCredentials sends MLflow's token as a bearer token, else the user
// and password by basic authentication, as MLflow's clients do.
func TestCredentials(t *testing.T) {
	for _, c := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"MLFLOW_TRACKING_TOKEN": "s3cret"}, "Bearer s3cret"},
		{map[string]string{"MLFLOW_TRACKING_USERNAME": "ada", "MLFLOW_TRACKING_PASSWORD": "pw"}, "Basic " + base64.StdEncoding.EncodeToString([]byte("ada:pw"))},
	} {
		f := fake{}
		var seen []string
		f["/api/2.0/mlflow/experiments/search"] = func(w http.ResponseWriter, r *http.Request) {
			seen = append(seen, r.Header.Get("Authorization"))
			fmt.Fprint(w, `{"experiments":[]}`)
		}
		srv := httptest.NewServer(f)
		if _, err := importWithEnv(t, srv.URL, c.env); err != nil {
			t.Fatal(err)
		}
		srv.Close()
		if len(seen) != 1 || seen[0] != c.want {
			t.Errorf("%v: sent %q; want %q", c.env, seen, c.want)
		}
	}
	if _, err := mlflowrest.Open("http://ada:pw@127.0.0.1:5000", mlflowrest.Options{}); err == nil || !strings.Contains(err.Error(), "MLFLOW_TRACKING_USERNAME") {
		t.Errorf("credentials in the URL: %v", err)
	}
	if _, err := mlflowrest.FromEnv(func(k string) string { return map[string]string{"MLFLOW_HTTP_REQUEST_TIMEOUT": "soon"}[k] }); err == nil {
		t.Error("MLFLOW_HTTP_REQUEST_TIMEOUT=soon taken")
	}
}

// importWithEnv imports the server at url into a new repository, with
// the options MLflow's clients take from the environment env.
func importWithEnv(t *testing.T, url string, env map[string]string) (*importer.Result, error) {
	t.Helper()
	o, err := mlflowrest.FromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	_, b := repo(t)
	return importer.Import(ctx, b, open(t, url, o), importer.Options{})
}

// TestLargeArtifact lists a file over the limit by reference without
// downloading it.
func TestLargeArtifact(t *testing.T) {
	url, downloads := countDownloads(t)
	_, b := repo(t)
	src := open(t, url, mlflowrest.Options{MaxArtifact: 4})
	res, err := importer.Import(ctx, b, src, importer.Options{MaxArtifact: 4})
	if err != nil || len(res.Problems) > 0 {
		t.Fatal(err, res.Problems)
	}
	if downloads.Load() != 0 || len(res.Items) != 1 || res.Items[0].NotCopied != 1 || res.Items[0].Artifacts != 0 {
		t.Errorf("%d downloads, %+v; want none, the file listed by reference", downloads.Load(), res.Items)
	}
	rs, _ := b.Runs(ctx)
	if got := rs.All[0].Record.Tags[importer.TagNotCopied]; got != "5 a.txt" {
		t.Errorf("%s = %q; want \"5 a.txt\"", importer.TagNotCopied, got)
	}
}

// TestTLS reads an https server whose certificate the system does not
// know only with MLFLOW_TRACKING_SERVER_CERT_PATH naming it, or with
// MLFLOW_TRACKING_INSECURE_TLS=true.
func TestTLS(t *testing.T) {
	srv := httptest.NewTLSServer(fake{})
	defer srv.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		env  map[string]string
		want string // "" for success
	}{
		{nil, "certificate signed by unknown authority"},
		{map[string]string{"MLFLOW_TRACKING_SERVER_CERT_PATH": ca}, ""},
		{map[string]string{"MLFLOW_TRACKING_INSECURE_TLS": "true"}, ""},
	} {
		res, err := importWithEnv(t, srv.URL, c.env)
		switch {
		case c.want == "" && (err != nil || res.Count(importer.New) != 1):
			t.Errorf("%v: %v %v", c.env, res, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "cannot reach the MLflow server at "+srv.URL)):
			t.Errorf("%v: error %v; want %q", c.env, err, c.want)
		}
	}
	if _, err := mlflowrest.FromEnv(func(k string) string { return map[string]string{"MLFLOW_TRACKING_INSECURE_TLS": "maybe"}[k] }); err == nil {
		t.Error("MLFLOW_TRACKING_INSECURE_TLS=maybe taken")
	}
	if _, err := mlflowrest.Open(srv.URL, mlflowrest.Options{CACert: filepath.Join(t.TempDir(), "none.pem")}); err == nil || !strings.Contains(err.Error(), "read the server's certificates") {
		t.Errorf("missing CA file: %v", err)
	}
}

// TestDryRunDownloadsNothing lists a run's files in a dry run, with their
// sizes, and fetches none.
func TestDryRunDownloadsNothing(t *testing.T) {
	url, downloads := countDownloads(t)
	_, b := repo(t)
	res, err := importer.Import(ctx, b, open(t, url, mlflowrest.Options{ListOnly: true}), importer.Options{DryRun: true})
	if err != nil || len(res.Problems) > 0 || len(res.Items) != 1 {
		t.Fatal(err, res.Problems)
	}
	if downloads.Load() != 0 || res.Items[0].Artifacts != 1 {
		t.Errorf("%d downloads, %+v; want none, one file listed", downloads.Load(), res.Items[0])
	}
}

// countDownloads serves the fake run until t ends, counting the
// downloads of its file, and returns its URL and the count.
func countDownloads(t *testing.T) (string, *atomic.Int64) {
	var n atomic.Int64
	f := fake{}
	f["/get-artifact"] = func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		fmt.Fprint(w, "hello")
	}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return srv.URL, &n
}
