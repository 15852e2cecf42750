package memstore

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"

	"github.com/gitruns/gitruns/run"
	"github.com/gitruns/gitruns/run/codec"
)

// Experiments returns every stored experiment with its commit, by id.
func (s *Store) Experiments(ctx context.Context) ([]run.ExperimentEntry, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]run.ExperimentEntry, 0, len(s.exps))
	for _, id := range slices.Sorted(maps.Keys(s.exps)) {
		c := s.exps[id]
		en := run.ExperimentEntry{ID: id, Commit: c}
		en.Experiment, en.Err = codec.DecodeExperiment(s.expText[c])
		out = append(out, en)
	}
	return out, nil
}

// SaveExperiment stores e as experiment e.ID if it is at commit old (""
// for not stored yet), with the errors tracker.ExperimentStore names.
func (s *Store) SaveExperiment(ctx context.Context, e *run.Experiment, old string) (string, error) {
	text, err := codec.EncodeExperiment(e)
	if err != nil {
		return "", fmt.Errorf("save experiment: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, exists := s.exps[e.ID]
	switch {
	case old == "" && exists:
		return "", run.Exists("experiment %s already exists", e.ID)
	case old != "" && !exists:
		return "", run.NotFound("no experiment %s", e.ID)
	case cur != old:
		return "", run.Conflict("save experiment %s: %v: is at %s, expected %s", e.ID, run.ErrConflict, cur, old)
	}
	if s.exps == nil {
		s.exps, s.expText = map[string]string{}, map[string][]byte{}
	}
	s.seq++
	c := objectID("commit", append(slices.Clone(text), strconv.Itoa(s.seq)...))
	s.expText[c] = text
	s.exps[e.ID] = c
	return c, nil
}
