package server_test

import (
	"encoding/json"
	"testing"

	"github.com/gitruns/gitruns/server"
)

// TestTutorial is MLflow's first tutorial over HTTP: start a run, log a
// param and metrics, end it; the run is then there for the command line
// and for git.
func TestTutorial(t *testing.T) {
	s := startServer(t, server.Options{})
	id := s.createRun("0", "first")
	s.api(200, "POST", "runs/log-parameter", map[string]any{"run_id": id, "key": "alpha", "value": "0.5"})
	for step := 0; step < 3; step++ {
		s.api(200, "POST", "runs/log-metric", map[string]any{"run_id": id, "key": "rmse", "value": 1.0 / float64(step+1), "timestamp": 1700000000000 + step, "step": step})
	}
	s.api(200, "POST", "runs/update", map[string]any{"run_id": id, "status": "FINISHED"})

	var shown struct {
		ID      string         `json:"id"`
		Name    string         `json:"name"`
		Status  string         `json:"status"`
		Params  map[string]any `json:"params"`
		Metrics map[string]struct {
			Last  float64 `json:"last"`
			Count int     `json:"count"`
		} `json:"metrics"`
	}
	if err := json.Unmarshal([]byte(cli(t, s.Dir, "show", "--json", id)), &shown); err != nil {
		t.Fatal(err)
	}
	if shown.Name != "first" || shown.Status != "finished" || shown.Params["alpha"] != 0.5 || shown.Metrics["rmse"].Count != 3 {
		t.Errorf("git runs show: %+v", shown)
	}
	if got := git(t, s.Dir, "cat-file", "-t", "refs/runs/"+id); got != "commit\n" {
		t.Errorf("refs/runs/%s is a %q", id, got)
	}
}
