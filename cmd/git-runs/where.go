package main

import (
	"time"

	"github.com/gitruns/gitruns/gitstore"
	"github.com/gitruns/gitruns/run"
	"github.com/gitruns/gitruns/run/query"
)

// where keeps the runs that match expr (all of them when expr is "").
func where(all []gitstore.Entry, expr string) ([]gitstore.Entry, error) {
	if expr == "" {
		return all, nil
	}
	q, err := query.Parse(expr)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	out := all[:0:0]
	for _, en := range all {
		ok, err := query.Match(q, en.Record, now)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, en)
		}
	}
	return out, nil
}

// sortEntries orders runs by key, keeping runs that lack it last.
func sortEntries(all []gitstore.Entry, key string, desc bool) ([]gitstore.Entry, error) {
	k, err := query.ParseKey(key)
	if err != nil {
		return nil, err
	}
	recs := make([]*run.Record, len(all))
	byRec := make(map[*run.Record]gitstore.Entry, len(all))
	for i, en := range all {
		recs[i] = en.Record
		byRec[en.Record] = en
	}
	query.Sort(recs, k, desc)
	out := make([]gitstore.Entry, len(recs))
	for i, r := range recs {
		out[i] = byRec[r]
	}
	return out, nil
}

// selectRuns returns the runs named by specs, then those matching expr,
// in that order.
func selectRuns(all []gitstore.Entry, specs []string, expr string) ([]gitstore.Entry, error) {
	var out []gitstore.Entry
	for _, spec := range specs {
		en, err := pick(all, spec)
		if err != nil {
			return nil, err
		}
		out = append(out, en)
	}
	if expr != "" {
		matched, err := where(all, expr)
		if err != nil {
			return nil, err
		}
		out = append(out, matched...)
	}
	return out, nil
}
