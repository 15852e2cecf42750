package tracker

import (
	"time"

	"github.com/gitruns/gitruns/run"
	"github.com/gitruns/gitruns/run/query"
)

// FilterExperiments keeps the experiments that filter, an expression of
// the query language, matches, in their order. An experiment is matched
// as a run would be: `name` (or `attributes.name`) is its name, `tags.KEY`
// its tags, `creation_time` and `last_update_time` its times, which is
// what MLflow's experiment filters use.
func FilterExperiments(all []run.Experiment, filter string) ([]run.Experiment, error) {
	if filter == "" {
		return all, nil
	}
	q, err := query.Parse(filter)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	var out []run.Experiment
	for _, e := range all {
		rec := &run.Record{ID: e.ID, Name: e.Name, Tags: e.Tags, Started: e.Created, Ended: e.Updated, Status: run.Finished}
		ok, err := query.Match(q, rec, now)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, e)
		}
	}
	return out, nil
}
