package live_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gitruns/gitruns/run"
	"github.com/gitruns/gitruns/run/live"
	"github.com/gitruns/gitruns/run/memstore"
)

// A private run keeps the machine to itself: no host or user name, no
// interpreter path, and no absolute path in its command, variables and
// params, whether the setting comes from the environment or the store.
func TestPrivateRun(t *testing.T) {
	cwd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for _, env := range []string{"1", "0"} {
		t.Setenv(live.PrivateEnv, env)
		s := memstore.New(t.TempDir())
		rc := live.Recorder{Store: s, Dir: s.LiveDir()}
		r, err := rc.Start(context.Background(), live.Options{
			Command:       []string{"/home/ada/.venv/bin/python", filepath.Join(cwd, "train.py"), "--data=/home/ada/data", "--lr", "0.1"},
			Env:           map[string]string{"VIRTUAL_ENV": "/home/ada/.venv"},
			DefaultParams: map[string]any{"data": "/home/ada/data"},
			Params:        map[string]any{"out": filepath.Join(cwd, "out", "x")},
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := r.SetHost(run.Host{CPU: "cpu", PythonExecutable: "/home/ada/.venv/bin/python"}); err != nil {
			t.Fatal(err)
		}
		if err := r.LogParam("later", "/home/ada/x.csv"); err != nil {
			t.Fatal(err)
		}
		rec, err := r.Record()
		if err != nil {
			t.Fatal(err)
		}
		r.End(run.Finished)
		h := rec.Host
		all := strings.Join(append(rec.Command, h.Hostname, h.User, h.PythonExecutable, rec.Env["VIRTUAL_ENV"],
			rec.Params["data"].(string), rec.Params["out"].(string), rec.Params["later"].(string)), " ")
		if env == "0" {
			if h.Hostname == "" || !strings.Contains(all, "/home/ada") || h.CPU != "cpu" {
				t.Errorf("not private: %q, host %+v", all, h)
			}
			continue
		}
		want := "[path]/python train.py --data=[path]/data --lr 0.1    [path]/.venv [path]/data out/x [path]/x.csv"
		if all != want || h.CPU != "cpu" || h.OS == "" {
			t.Errorf("private run records\n%q\nwant\n%q\nhost %+v", all, want, h)
		}
	}
}

func TestSetHostRedactsPackages(t *testing.T) {
	t.Setenv(live.PrivateEnv, "0")
	s := memstore.New(t.TempDir())
	r, err := live.Recorder{Store: s, Dir: s.LiveDir()}.Start(context.Background(), live.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.End(run.Finished)
	pkg := "mylib @ git+https://ada:ghp_aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3z0A@github.com/ada/mylib"
	if err := r.SetHost(run.Host{PythonPackages: []string{"numpy==1.26.4", pkg}}); err != nil {
		t.Fatal(err)
	}
	rec, err := r.Record()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(rec.Host.PythonPackages, " "); got != "numpy==1.26.4 mylib @ git+https://ada:[redacted]@github.com/ada/mylib" {
		t.Errorf("packages %q", got)
	}
}
