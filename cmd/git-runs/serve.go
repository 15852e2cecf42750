package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strconv"
	"syscall"
	"time"

	"github.com/gitruns/gitruns/server"
	"github.com/gitruns/gitruns/server/mlflow"
)

type serveCmd struct {
	Host        string        `default:"127.0.0.1" help:"Address to listen on. Beyond this machine a token is required."`
	Port        int           `short:"p" default:"5000" help:"Port to listen on (0 for any free one, printed)."`
	Token       string        `env:"GITRUNS_SERVE_TOKEN" help:"Token every request must carry (bearer, or basic-auth password: MLFLOW_TRACKING_TOKEN or MLFLOW_TRACKING_PASSWORD on the client)."`
	IdleTimeout time.Duration `default:"1h" help:"End a run as crashed (KILLED to MLflow) when its client has not called for this long."`
	MaxArtifact int64         `default:"2147483648" help:"Largest artifact file accepted, in bytes."`
}

func (c *serveCmd) Help() string {
	return `Serves MLflow's tracking REST API over this repository, so that MLflow
code logs into git unchanged: each run it creates is a run here, with
its code, pushed and fetched like any other.

  git runs serve &
  MLFLOW_TRACKING_URI=http://127.0.0.1:5000 python train.py
  git runs ls

Runs are committed at checkpoints, never per call. A run whose client
goes silent for --idle-timeout is ended as crashed; a restarted server
takes back the runs it was recording, and their clients log on. The
model registry is not served (ENDPOINT_NOT_FOUND).`
}

func (c *serveCmd) Run(e *env) error {
	return c.serve(e, nil)
}

// serve serves until interrupted, calling started with the server's
// address once it listens.
func (c *serveCmd) serve(e *env, started func(url string)) error {
	t, err := e.tracker()
	if err != nil {
		return err
	}
	addr := net.JoinHostPort(c.Host, strconv.Itoa(c.Port))
	s, err := server.New(t, server.Options{
		Addr: addr, Token: c.Token, Idle: c.IdleTimeout,
		MLflow: mlflow.Options{MaxArtifact: c.MaxArtifact, TempDir: os.TempDir()},
	})
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	fmt.Fprintf(e.stdout, "git-runs: serving MLflow's API on %s\n", s.URL())
	if c.Token != "" {
		fmt.Fprintf(e.stdout, "git-runs: every request needs the token (MLFLOW_TRACKING_TOKEN on the client)\n")
	}
	fmt.Fprintf(e.stdout, "hint: MLFLOW_TRACKING_URI=%s python train.py\n", s.URL())
	if started != nil {
		started(s.URL())
	}
	ctx, stop := signal.NotifyContext(e.ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	return s.Serve(ctx)
}

type uiCmd struct {
	serveCmd
	NoOpen bool `help:"Do not open the browser."`
}

func (c *uiCmd) Help() string {
	return `Serves the web UI of this repository's runs, with MLflow's API beside
it, and opens it in the browser: the runs table (filter with the syntax
of --where, sort, pick columns, group), a page per run (params, charts of
every metric, output, artifacts, the code and its diff), and the
comparison of runs (curves overlaid, only the params that differ).

  git runs ui
  git runs ui --no-open --port 8080`
}

func (c *uiCmd) Run(e *env) error {
	return c.serve(e, func(url string) {
		fmt.Fprintf(e.stdout, "git-runs: the UI is at %s/\n", url)
		if !c.NoOpen {
			openBrowser(e, url+"/")
		}
	})
}

// openBrowser opens url with the desktop's opener, saying so when there is
// none.
func openBrowser(e *env, url string) {
	opener := "xdg-open"
	if runtime.GOOS == "darwin" {
		opener = "open"
	}
	cmd := exec.Command(opener, url)
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(e.stderr, "hint: open %s in a browser (%s: %v)\n", url, opener, err)
		return
	}
	go cmd.Wait()
}
