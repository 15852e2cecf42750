package mlflow

import (
	"cmp"
	"context"
	"errors"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/gitruns/gitruns/run"
	"github.com/gitruns/gitruns/run/tracker"
)

type experimentJSON struct {
	ExperimentID     string `json:"experiment_id"`
	Name             string `json:"name"`
	ArtifactLocation string `json:"artifact_location"`
	LifecycleStage   string `json:"lifecycle_stage"`
	LastUpdateTime   int64  `json:"last_update_time"`
	CreationTime     int64  `json:"creation_time"`
	Tags             []kv   `json:"tags"`
}

func experimentOut(e run.Experiment) experimentJSON {
	out := experimentJSON{
		ExperimentID: e.ID, Name: e.Name, ArtifactLocation: "mlflow-artifacts:/" + e.ID,
		LifecycleStage: "active", LastUpdateTime: e.Updated.UnixMilli(), CreationTime: e.Created.UnixMilli(),
		Tags: []kv{},
	}
	if e.Created.IsZero() {
		out.CreationTime, out.LastUpdateTime = 0, 0
	}
	if e.Deleted {
		out.LifecycleStage = "deleted"
	}
	for _, k := range slices.Sorted(maps.Keys(e.Tags)) {
		out.Tags = append(out.Tags, kv{k, e.Tags[k]})
	}
	return out
}

// hostedExperiment is an experiment as runs are created in it.
type hostedExperiment struct{ run.Experiment }

// runName is the experiment name a run created in e records.
func (e hostedExperiment) runName() string {
	if e.ID == run.DefaultExperimentID {
		return run.DefaultRecordExperiment
	}
	return e.Name
}

// experiment returns experiment id ("" for Default), as runs are
// created in it.
func (s *Server) experiment(ctx context.Context, id string) (hostedExperiment, error) {
	if id == "" {
		id = run.DefaultExperimentID
	}
	e, err := s.t.ExperimentToRecordIn(ctx, id)
	if errors.Is(err, run.ErrNotFound) {
		return hostedExperiment{}, notFound("No Experiment with id=%s exists", id)
	}
	return hostedExperiment{e}, err
}

// expIndex tells the experiment id of runs' records.
type expIndex struct{ of func(*run.Record) string }

func (x *expIndex) idOf(name string) string {
	if x.of == nil {
		return run.DefaultExperimentID
	}
	return x.of(&run.Record{Experiment: name})
}

func (s *Server) expIndex(ctx context.Context) *expIndex {
	of, err := s.t.ExperimentResolver(ctx)
	if err != nil {
		return &expIndex{}
	}
	return &expIndex{of}
}

type createExperimentReq struct {
	Name string `json:"name"`
	Tags []kv   `json:"tags"`
}

func createExperiment(s *Server, r *http.Request) (any, error) {
	var req createExperimentReq
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	if req.Name == "" {
		return nil, invalid("missing value for required parameter 'name'")
	}
	if err := run.ValidateExperimentName(req.Name); err != nil {
		return nil, invalid("%v", err)
	}
	tags, err := experimentTags(req.Tags)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, err := s.t.CreateExperiment(r.Context(), req.Name, tags)
	if errors.Is(err, run.ErrExists) {
		return nil, exists("Experiment '%s' already exists", req.Name)
	}
	if err != nil {
		return nil, badValue(err)
	}
	return map[string]any{"experiment_id": e.ID}, nil
}

func experimentTags(kvs []kv) (map[string]string, error) {
	tags := map[string]string{}
	for _, t := range kvs {
		if err := checkTag(t); err != nil {
			return nil, err
		}
		tags[t.Key] = t.Value
	}
	return tags, nil
}

type experimentIDReq struct {
	ExperimentID string `json:"experiment_id"`
}

func getExperiment(s *Server, r *http.Request) (any, error) {
	var req experimentIDReq
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	if req.ExperimentID == "" {
		return nil, invalid("missing value for required parameter 'experiment_id'")
	}
	e, err := s.t.Experiment(r.Context(), req.ExperimentID)
	if errors.Is(err, run.ErrNotFound) {
		return nil, notFound("No Experiment with id=%s exists", req.ExperimentID)
	}
	if err != nil {
		return nil, err
	}
	return map[string]any{"experiment": experimentOut(e)}, nil
}

type experimentNameReq struct {
	ExperimentName string `json:"experiment_name"`
}

func getExperimentByName(s *Server, r *http.Request) (any, error) {
	var req experimentNameReq
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	if req.ExperimentName == "" {
		return nil, invalid("missing value for required parameter 'experiment_name'")
	}
	e, err := s.t.ExperimentByName(r.Context(), req.ExperimentName)
	if errors.Is(err, run.ErrNotFound) {
		return nil, notFound("Could not find experiment with name '%s'", req.ExperimentName)
	}
	if err != nil {
		return nil, err
	}
	return map[string]any{"experiment": experimentOut(e)}, nil
}

type searchExperimentsReq struct {
	MaxResults i64      `json:"max_results"`
	PageToken  string   `json:"page_token"`
	Filter     string   `json:"filter"`
	OrderBy    []string `json:"order_by"`
	ViewType   viewType `json:"view_type"`
}

func searchExperiments(s *Server, r *http.Request) (any, error) {
	var req searchExperimentsReq
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	limit, off, err := paging(req.MaxResults, req.PageToken)
	if err != nil {
		return nil, err
	}
	all, err := s.t.Experiments(r.Context())
	if err != nil {
		return nil, err
	}
	found, err := tracker.FilterExperiments(all, req.Filter)
	if err != nil {
		return nil, invalid("invalid filter %q: %v", req.Filter, err)
	}
	found = byView(found, req.ViewType)
	if err := sortExperiments(found, req.OrderBy); err != nil {
		return nil, err
	}
	page, next := pageOf(found, off, limit)
	out := make([]experimentJSON, len(page))
	for i, e := range page {
		out[i] = experimentOut(e)
	}
	res := map[string]any{"experiments": out}
	if next != "" {
		res["next_page_token"] = next
	}
	return res, nil
}

func byView(all []run.Experiment, v viewType) []run.Experiment {
	if v == allViews {
		return all
	}
	return slices.DeleteFunc(all, func(e run.Experiment) bool { return e.Deleted != (v == deletedOnly) })
}

// sortExperiments orders experiments by MLflow's order_by clauses (name,
// experiment_id, creation_time, last_update_time), ties by id, last
// first, as MLflow breaks them. Without clauses they stay in the
// library's order.
func sortExperiments(es []run.Experiment, clauses []string) error {
	if len(clauses) == 0 {
		return nil
	}
	var orders []tracker.Order
	for _, c := range clauses {
		o, err := parseOrder(c)
		if err != nil {
			return err
		}
		o.Key = strings.TrimPrefix(strings.TrimPrefix(o.Key, "attributes."), "attribute.")
		switch o.Key {
		case "name", "experiment_id", "creation_time", "last_update_time":
		default:
			return invalid("invalid order_by key %q for experiments: use name, experiment_id, creation_time or last_update_time", o.Key)
		}
		orders = append(orders, o)
	}
	slices.SortStableFunc(es, func(a, b run.Experiment) int {
		for _, o := range orders {
			c := compareExperiments(a, b, o.Key)
			if o.Desc {
				c = -c
			}
			if c != 0 {
				return c
			}
		}
		return -run.CompareExperimentIDs(a.ID, b.ID)
	})
	return nil
}

func compareExperiments(a, b run.Experiment, key string) int {
	switch key {
	case "name":
		return cmp.Compare(a.Name, b.Name)
	case "experiment_id":
		return run.CompareExperimentIDs(a.ID, b.ID)
	case "creation_time":
		return a.Created.Compare(b.Created)
	}
	return a.Updated.Compare(b.Updated)
}

type updateExperimentReq struct {
	ExperimentID string `json:"experiment_id"`
	NewName      string `json:"new_name"`
}

func updateExperiment(s *Server, r *http.Request) (any, error) {
	var req updateExperimentReq
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	if req.NewName != "" {
		if err := run.ValidateExperimentName(req.NewName); err != nil {
			return nil, invalid("%v", err)
		}
	}
	return nil, s.editExperiment(r, req.ExperimentID, func(e *run.Experiment) error {
		if req.NewName != "" {
			e.Name = req.NewName
		}
		return nil
	})
}

func deleteExperiment(s *Server, r *http.Request) (any, error) {
	var req experimentIDReq
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	if req.ExperimentID == run.DefaultExperimentID {
		return nil, invalid("Cannot delete the default experiment '0'. This is an internally reserved experiment.")
	}
	return nil, s.editExperiment(r, req.ExperimentID, func(e *run.Experiment) error {
		e.Deleted = true
		return nil
	})
}

func restoreExperiment(s *Server, r *http.Request) (any, error) {
	var req experimentIDReq
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	return nil, s.editExperiment(r, req.ExperimentID, func(e *run.Experiment) error {
		e.Deleted = false
		return nil
	})
}

type experimentTagReq struct {
	ExperimentID string `json:"experiment_id"`
	Key          string `json:"key"`
	Value        string `json:"value"`
}

func setExperimentTag(s *Server, r *http.Request) (any, error) {
	var req experimentTagReq
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	if err := checkTag(kv{req.Key, req.Value}); err != nil {
		return nil, err
	}
	return nil, s.editExperiment(r, req.ExperimentID, func(e *run.Experiment) error {
		if e.Tags == nil {
			e.Tags = map[string]string{}
		}
		e.Tags[req.Key] = req.Value
		return nil
	})
}

func deleteExperimentTag(s *Server, r *http.Request) (any, error) {
	var req experimentTagReq
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	return nil, s.editExperiment(r, req.ExperimentID, func(e *run.Experiment) error {
		if _, ok := e.Tags[req.Key]; !ok {
			return notFound("No tag with name: %s in experiment with id %s", req.Key, e.ID)
		}
		delete(e.Tags, req.Key)
		return nil
	})
}

func (s *Server) editExperiment(r *http.Request, id string, edit func(*run.Experiment) error) error {
	if id == "" {
		return invalid("missing value for required parameter 'experiment_id'")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_, err := s.t.EditExperiment(r.Context(), id, edit)
	var ae *apiError
	switch {
	case errors.As(err, &ae):
		return err
	case errors.Is(err, run.ErrNotFound):
		return notFound("No Experiment with id=%s exists", id)
	case errors.Is(err, run.ErrExists):
		return exists("%v", err)
	}
	s.wrote()
	return badValue(err)
}
