package live_test

import (
	"fmt"
	"log"
	"os"
	"os/exec"

	"github.com/gitruns/gitruns/gitstore"
	"github.com/gitruns/gitruns/run"
	"github.com/gitruns/gitruns/run/live"
)

// Record a run from Go: start it in a repository, log into it, end it.
// The run is then a commit under refs/runs/<id> that plain git can read.
func Example() {
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if err := exec.Command("git", "init", "-q", dir).Run(); err != nil {
		log.Fatal(err)
	}

	repo, err := gitstore.Open(dir)
	if err != nil {
		log.Fatal(err)
	}
	defer repo.Close()
	r, err := recorderOf(repo).Start(ctx, live.Options{
		Name:   "example",
		Params: map[string]any{"lr": 0.01, "optimizer": map[string]any{"name": "adam"}},
	})
	if err != nil {
		log.Fatal(err)
	}
	for epoch := 0; epoch < 4; epoch++ {
		// NextStep continues the key's steps: 0, 1, 2, 3.
		if err := r.LogMetric("loss", 1/float64(epoch+1), live.NextStep); err != nil {
			log.Fatal(err)
		}
	}
	if err := r.SetTag("team", "vision"); err != nil {
		log.Fatal(err)
	}
	if err := r.End(run.Finished); err != nil {
		log.Fatal(err)
	}

	en, err := repo.Load(ctx, r.ID())
	if err != nil {
		log.Fatal(err)
	}

	rec := en.Record
	loss := rec.Metrics["loss"]
	fmt.Println(rec.Name, rec.Status, rec.Params["optimizer.name"], rec.Tags["team"])
	fmt.Println("loss:", loss.Last, "at step", loss.Step, "of", loss.Count, "points")
	// Output:
	// example finished adam vision
	// loss: 0.25 at step 3 of 4 points
}
