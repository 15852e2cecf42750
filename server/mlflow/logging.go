package mlflow

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/gitruns/gitruns/run"
	"github.com/gitruns/gitruns/run/live"
)

// MLflow's limits on what one call logs (service.proto, LogBatch).
const (
	maxBatchMetrics = 1000
	maxBatchParams  = 100
	maxBatchTags    = 100
	maxBatchTotal   = 1000
	maxKeyLen       = 250
	maxParamLen     = 6000
	maxTagLen       = 8000
)

// Reserved tags in which the server keeps what MLflow's clients log
// beside params, metrics and tags. They are in the record, so they travel
// and merge as tags do; MLflow's own log-model history tag is kept as
// MLflow keeps it.
const (
	tagInputs   = "gitruns.mlflow.inputs"
	tagOutputs  = "gitruns.mlflow.outputs"
	tagModelLog = "mlflow.log-model.history"
)

// liveRun returns the live run id names, to log into.
func (s *Server) liveRun(ctx context.Context, id string) (*live.Run, error) {
	if id == "" {
		return nil, invalid("missing value for required parameter 'run_id'")
	}
	if !run.ValidID(id) {
		ru, err := s.get(ctx, id)
		if err != nil {
			return nil, err
		}
		id = ru.ID
	}
	lr, err := s.h.Run(ctx, id)
	if errors.Is(err, run.ErrNotFound) {
		return nil, notFound("Run with id=%s not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("the run must be in the 'active' state to log into it: %w", err)
	}
	return lr, nil
}

type metricReq struct {
	Key       string `json:"key"`
	Value     f64    `json:"value"`
	Timestamp i64    `json:"timestamp"`
	Step      i64    `json:"step"`
}

type logMetricReq struct {
	RunID   string `json:"run_id"`
	RunUUID string `json:"run_uuid"`
	metricReq
}

func logMetric(s *Server, r *http.Request) (any, error) {
	var req logMetricReq
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	if err := checkMetric(req.metricReq); err != nil {
		return nil, err
	}
	id, _ := runIDReq{req.RunID, req.RunUUID}.id()
	lr, err := s.liveRun(r.Context(), id)
	if err != nil {
		return nil, err
	}
	if err := logPoints(lr, []metricReq{req.metricReq}); err != nil {
		return nil, err
	}
	s.wrote()
	return nil, nil
}

func checkMetric(m metricReq) error {
	if err := checkKey("metric", m.Key); err != nil {
		return err
	}
	if !m.Value.Set {
		return invalid("missing value for required parameter 'value' of metric %q", m.Key)
	}
	return nil
}

func checkKey(kind, key string) error {
	if key == "" {
		return invalid("missing value for required parameter 'key' of a %s", kind)
	}
	if len(key) > maxKeyLen {
		return invalid("%s key %q is longer than %d characters", kind, key[:32]+"…", maxKeyLen)
	}
	if err := run.ValidateKey(kind, key); err != nil {
		return invalid("%v", err)
	}
	return nil
}

// logPoints appends points to the run's journal and writes them out
// before the call is answered: an answered point survives the death of
// the server.
//
// A point the run already ends with (same key, step, time and value) is
// not logged again: a client that resends a call whose answer it did not
// get, as MLflow's do after a server died, would otherwise record it
// twice. MLflow's own stores drop such duplicates too.
func logPoints(lr *live.Run, ms []metricReq) error {
	now := time.Now()
	seen, err := tails(lr, ms)
	if err != nil {
		return err
	}
	for _, m := range ms {
		t := now
		if m.Timestamp.Set && m.Timestamp.V > 0 {
			t = time.UnixMilli(m.Timestamp.V)
		}
		p := keyedPoint{m.Key, run.Point{Step: m.Step.V, Time: t.UnixMilli(), Value: m.Value.V}}
		if seen[p] {
			continue
		}
		if err := lr.LogMetricAt(m.Key, m.Value.V, m.Step.V, t); err != nil {
			return badValue(err)
		}
	}
	return lr.Flush()
}

type keyedPoint struct {
	key string
	run.Point
}

// tails returns the last points of each key of ms, as many as ms has of
// the key: what a resent call would find already there.
func tails(lr *live.Run, ms []metricReq) (map[keyedPoint]bool, error) {
	if len(ms) == 0 {
		return nil, nil
	}
	h, err := lr.History()
	if err != nil {
		return nil, err
	}
	per := map[string]int{}
	for _, m := range ms {
		per[m.Key]++
	}
	seen := map[keyedPoint]bool{}
	for k, n := range per {
		pts := h[k]
		for _, p := range pts[max(0, len(pts)-n):] {
			seen[keyedPoint{k, p}] = true
		}
	}
	return seen, nil
}

type logParamReq struct {
	RunID   string `json:"run_id"`
	RunUUID string `json:"run_uuid"`
	Key     string `json:"key"`
	Value   string `json:"value"`
}

func logParam(s *Server, r *http.Request) (any, error) {
	var req logParamReq
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	id, _ := runIDReq{req.RunID, req.RunUUID}.id()
	params, err := checkParams([]kv{{req.Key, req.Value}})
	if err != nil {
		return nil, err
	}
	lr, err := s.liveRun(r.Context(), id)
	if err != nil {
		return nil, err
	}
	if err := logParams(lr, params); err != nil {
		return nil, err
	}
	s.wrote()
	return nil, nil
}

func checkParams(ps []kv) (map[string]any, error) {
	out := make(map[string]any, len(ps))
	for _, p := range ps {
		if err := checkKey("param", p.Key); err != nil {
			return nil, err
		}
		if len(p.Value) > maxParamLen {
			return nil, invalid("param %q: value is longer than %d characters", p.Key, maxParamLen)
		}
		if !utf8.ValidString(p.Value) {
			return nil, invalid("param %q: value is not valid UTF-8", p.Key)
		}
		v := paramValue(p.Value)
		if old, ok := out[p.Key]; ok && !run.SameValue(old, v) {
			return nil, invalid("Changing param values is not allowed. Param with key=%q was already logged with value=%q in this request", p.Key, paramString(old))
		}
		out[p.Key] = v
	}
	return out, nil
}

// logParams sets params, write-once as MLflow's are: the same value again
// is nothing, another value an error that changes nothing.
func logParams(lr *live.Run, params map[string]any) error {
	if len(params) == 0 {
		return nil
	}
	if err := lr.LogParams(params); err != nil {
		return invalid("Changing param values is not allowed: %v", err)
	}
	return nil
}

type logBatchReq struct {
	RunID   string      `json:"run_id"`
	Metrics []metricReq `json:"metrics"`
	Params  []kv        `json:"params"`
	Tags    []kv        `json:"tags"`
}

func logBatch(s *Server, r *http.Request) (any, error) {
	var req logBatchReq
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	if err := checkBatch(req); err != nil {
		return nil, err
	}
	params, err := checkParams(req.Params)
	if err != nil {
		return nil, err
	}
	for _, t := range req.Tags {
		if err := checkTag(t); err != nil {
			return nil, err
		}
	}
	ctx := r.Context()
	lr, err := s.liveRun(ctx, req.RunID)
	if err != nil {
		return nil, err
	}
	defer s.wrote()
	if err := logParams(lr, params); err != nil {
		return nil, err
	}
	for _, t := range req.Tags {
		if err := setTag(lr, t); err != nil {
			return nil, err
		}
	}
	return nil, logPoints(lr, req.Metrics)
}

func checkBatch(req logBatchReq) error {
	switch {
	case len(req.Metrics) > maxBatchMetrics:
		return invalid("A batch logging request can contain at most %d metrics. Got %d metrics", maxBatchMetrics, len(req.Metrics))
	case len(req.Params) > maxBatchParams:
		return invalid("A batch logging request can contain at most %d params. Got %d params", maxBatchParams, len(req.Params))
	case len(req.Tags) > maxBatchTags:
		return invalid("A batch logging request can contain at most %d tags. Got %d tags", maxBatchTags, len(req.Tags))
	case len(req.Metrics)+len(req.Params)+len(req.Tags) > maxBatchTotal:
		return invalid("A batch logging request can contain at most %d metrics, params and tags in total", maxBatchTotal)
	}
	for _, m := range req.Metrics {
		if err := checkMetric(m); err != nil {
			return err
		}
	}
	return nil
}

func checkTag(t kv) error {
	if err := checkKey("tag", t.Key); err != nil {
		return err
	}
	if len(t.Value) > maxTagLen {
		return invalid("tag %q: value is longer than %d characters", t.Key, maxTagLen)
	}
	if err := run.ValidateTagValue(t.Key, t.Value); err != nil {
		return invalid("%v", err)
	}
	return nil
}

// setTag sets a tag of a live run; mlflow.runName names the run.
func setTag(lr *live.Run, t kv) error {
	if t.Key == tagRunName {
		return badValue(lr.Rename(t.Value))
	}
	return badValue(lr.SetTag(t.Key, t.Value))
}

type tagReq struct {
	RunID   string `json:"run_id"`
	RunUUID string `json:"run_uuid"`
	Key     string `json:"key"`
	Value   string `json:"value"`
}

func setRunTag(s *Server, r *http.Request) (any, error) {
	var req tagReq
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	if err := checkTag(kv{req.Key, req.Value}); err != nil {
		return nil, err
	}
	id, err := runIDReq{req.RunID, req.RunUUID}.id()
	if err != nil {
		return nil, err
	}
	return nil, s.editTag(r.Context(), id, req.Key, &req.Value)
}

func deleteRunTag(s *Server, r *http.Request) (any, error) {
	var req tagReq
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	if err := checkKey("tag", req.Key); err != nil {
		return nil, err
	}
	id, err := runIDReq{req.RunID, req.RunUUID}.id()
	if err != nil {
		return nil, err
	}
	ru, err := s.get(r.Context(), id)
	if err != nil {
		return nil, err
	}
	if _, ok := ru.Record.Tags[req.Key]; !ok {
		return nil, notFound("No tag with name: %s in run with id %s", req.Key, ru.ID)
	}
	return nil, s.editTag(r.Context(), ru.ID, req.Key, nil)
}

// editTag sets (v not nil) or removes a tag of run id: through the hosted
// run while it lives here, else as the command line's tag does, which
// also edits runs that have ended (MLflow lets tags change after a run).
func (s *Server) editTag(ctx context.Context, id, key string, v *string) error {
	defer s.wrote()
	if s.h.Live(id) {
		lr, err := s.liveRun(ctx, id)
		if err != nil {
			return err
		}
		if v == nil {
			return badValue(lr.RemoveTag(key))
		}
		return setTag(lr, kv{key, *v})
	}
	ru, err := s.get(ctx, id)
	if err != nil {
		return err
	}
	if key == tagRunName && v != nil {
		return badValue(s.t.Rename(ctx, ru.ID, *v))
	}
	if v == nil {
		return badValue(s.t.EditTags(ctx, ru.ID, nil, []string{key}))
	}
	return badValue(s.t.EditTags(ctx, ru.ID, map[string]string{key: *v}, nil))
}

type logInputsReq struct {
	RunID    string            `json:"run_id"`
	Datasets []json.RawMessage `json:"datasets"`
	Models   []json.RawMessage `json:"models"`
}

// logInputs keeps the datasets (and model inputs) a run used in the
// record, as a JSON list in a reserved tag, without repeating one logged
// twice.
func logInputs(s *Server, r *http.Request) (any, error) {
	var req logInputsReq
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	return nil, s.editJSONTag(r.Context(), req.RunID, tagInputs, func(cur string) any {
		in := decodeInputs(cur)
		in["dataset_inputs"] = appendUnique(in["dataset_inputs"], req.Datasets)
		if len(req.Models) > 0 {
			in["model_inputs"] = appendUnique(in["model_inputs"], req.Models)
		}
		return in
	})
}

type logOutputsReq struct {
	RunID  string            `json:"run_id"`
	Models []json.RawMessage `json:"models"`
}

func logOutputs(s *Server, r *http.Request) (any, error) {
	var req logOutputsReq
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	return nil, s.editJSONTag(r.Context(), req.RunID, tagOutputs, func(cur string) any {
		out := decodeOutputs(cur)
		out["model_outputs"] = appendUnique(out["model_outputs"], req.Models)
		return out
	})
}

type logModelReq struct {
	RunID     string `json:"run_id"`
	ModelJSON string `json:"model_json"`
}

// logModel keeps an MLmodel description in the run's log-model history
// tag, as MLflow does.
func logModel(s *Server, r *http.Request) (any, error) {
	var req logModelReq
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	var model json.RawMessage
	if err := json.Unmarshal([]byte(req.ModelJSON), &model); err != nil {
		return nil, invalid("model_json is not JSON: %v", err)
	}
	return nil, s.editJSONTag(r.Context(), req.RunID, tagModelLog, func(cur string) any {
		var hist []json.RawMessage
		if cur != "" {
			json.Unmarshal([]byte(cur), &hist)
		}
		return appendUnique(hist, []json.RawMessage{model})
	})
}

// editJSONTag replaces the JSON tag key of run id by what edit makes of
// its value, one edit at a time, so that two calls at once lose neither.
func (s *Server) editJSONTag(ctx context.Context, id, key string, edit func(cur string) any) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	ru, err := s.get(ctx, id)
	if err != nil {
		return err
	}
	return s.saveJSONTag(ctx, ru.ID, key, edit(ru.Record.Tags[key]))
}

func (s *Server) saveJSONTag(ctx context.Context, id, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if len(b) > run.MaxStringLen {
		return invalid("what run %s logged of %s is larger than %d bytes", id, key, run.MaxStringLen)
	}
	val := string(b)
	return s.editTag(ctx, id, key, &val)
}

// appendUnique appends the items of add that list lacks, compared as
// compact JSON.
func appendUnique(list, add []json.RawMessage) []json.RawMessage {
	seen := map[string]bool{}
	for _, x := range list {
		seen[compactJSON(x)] = true
	}
	for _, x := range add {
		c := compactJSON(x)
		if !seen[c] {
			seen[c] = true
			list = append(list, json.RawMessage(c))
		}
	}
	return list
}

func compactJSON(b []byte) string {
	var buf bytes.Buffer
	if json.Compact(&buf, b) != nil {
		return string(b)
	}
	return buf.String()
}

func decodeInputs(s string) map[string][]json.RawMessage {
	m := map[string][]json.RawMessage{}
	if s != "" {
		json.Unmarshal([]byte(s), &m)
	}
	if m["dataset_inputs"] == nil {
		m["dataset_inputs"] = []json.RawMessage{}
	}
	return m
}

func decodeOutputs(s string) map[string][]json.RawMessage {
	m := map[string][]json.RawMessage{}
	if s != "" {
		json.Unmarshal([]byte(s), &m)
	}
	return m
}
