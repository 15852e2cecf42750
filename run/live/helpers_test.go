package live_test

import (
	"context"
	"testing"

	"github.com/gitruns/gitruns/gitstore"
	"github.com/gitruns/gitruns/run"
	"github.com/gitruns/gitruns/run/live"
)

var ctx = context.Background()

// recorderOf returns the recorder of repo, as the tracker makes it.
func recorderOf(repo *gitstore.Repo) live.Recorder {
	return live.Recorder{Store: repo, Dir: repo.LiveDir()}
}

// loadRun reads the committed record and history of run id.
func loadRun(t *testing.T, repo *gitstore.Repo, id string) (*run.Record, run.History) {
	t.Helper()
	en, err := repo.Load(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	hist, err := repo.History(ctx, en.Commit)
	if err != nil {
		t.Fatal(err)
	}
	return en.Record, hist
}
