package mlflow

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"strconv"

	"github.com/gitruns/gitruns/run"
	"github.com/gitruns/gitruns/run/tracker"
)

type historyReq struct {
	RunID      string `json:"run_id"`
	RunUUID    string `json:"run_uuid"`
	MetricKey  string `json:"metric_key"`
	PageToken  string `json:"page_token"`
	MaxResults i64    `json:"max_results"`
}

// maxHistoryPage bounds one page of a metric's history; MLflow's client
// asks for 25,000 at a time.
const maxHistoryPage = 1_000_000

func getHistory(s *Server, r *http.Request) (any, error) {
	var req historyReq
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	id, err := runIDReq{req.RunID, req.RunUUID}.id()
	if err != nil {
		return nil, err
	}
	if req.MetricKey == "" {
		return nil, invalid("missing value for required parameter 'metric_key'")
	}
	limit := int64(maxHistoryPage)
	if req.MaxResults.Set && req.MaxResults.V > 0 {
		limit = min(req.MaxResults.V, maxHistoryPage)
	}
	off, err := pageOffset(req.PageToken)
	if err != nil {
		return nil, err
	}
	ctx := r.Context()
	ru, err := s.get(ctx, id)
	if err != nil {
		return nil, err
	}
	points, err := s.points(ctx, ru, req.MetricKey)
	if err != nil {
		return nil, err
	}
	page, next := pageOf(points, off, int(limit))
	return historyJSON(req.MetricKey, page, next), nil
}

// historyJSON writes a page of a history as get-history answers it.
func historyJSON(key string, page []run.Point, next string) rawJSON {
	k, _ := json.Marshal(key)
	b := make([]byte, 0, 64+len(page)*(len(k)+64))
	b = append(b, `{"metrics":[`...)
	for i, p := range page {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"key":`...)
		b = append(b, k...)
		b = append(b, `,"value":`...)
		b = appendJSONFloat(b, p.Value)
		b = append(b, `,"timestamp":`...)
		b = strconv.AppendInt(b, p.Time, 10)
		b = append(b, `,"step":`...)
		b = strconv.AppendInt(b, p.Step, 10)
		b = append(b, '}')
	}
	b = append(b, ']')
	if next != "" {
		b = append(b, `,"next_page_token":`...)
		b = strconv.AppendQuote(b, next)
	}
	return append(b, '}')
}

// points returns the history of metric key of run ru: from the hosted
// run while it lives here, else as the library reads it.
func (s *Server) points(ctx context.Context, ru tracker.Run, key string) ([]run.Point, error) {
	if s.h.Live(ru.ID) {
		if lr, err := s.h.Run(ctx, ru.ID); err == nil {
			h, err := lr.History()
			if err != nil {
				return nil, err
			}
			return h[key], nil
		}
	}
	h, err := s.t.History(ctx, ru)
	if err != nil {
		return nil, err
	}
	return h[key], nil
}

type bulkReq struct {
	RunIDs     []string `json:"run_ids"`
	MetricKey  string   `json:"metric_key"`
	StartStep  i64      `json:"start_step"`
	EndStep    i64      `json:"end_step"`
	MaxResults i64      `json:"max_results"`
}

// MLflow's bounds on the bulk-interval history.
const (
	maxBulkRuns    = 100
	maxBulkResults = 1000
)

func getHistoryBulkInterval(s *Server, r *http.Request) (any, error) {
	var req bulkReq
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	switch {
	case len(req.RunIDs) == 0:
		return nil, invalid("GetMetricHistoryBulkInterval request must specify at least one run_id")
	case len(req.RunIDs) > maxBulkRuns:
		return nil, invalid("GetMetricHistoryBulkInterval request cannot specify more than %d run_ids. Received %d run_ids", maxBulkRuns, len(req.RunIDs))
	case req.MetricKey == "":
		return nil, invalid("missing value for required parameter 'metric_key'")
	case req.StartStep.Set != req.EndStep.Set:
		return nil, invalid("if either start step or end step are specified, both must be specified")
	case req.StartStep.Set && req.StartStep.V > req.EndStep.V:
		return nil, invalid("end_step must be greater than start_step. Found start_step=%d and end_step=%d", req.StartStep.V, req.EndStep.V)
	}
	n := int64(maxBulkResults)
	if req.MaxResults.Set {
		n = req.MaxResults.V
	}
	if n <= 0 || n > maxBulkResults {
		return nil, invalid("max_results must be between 1 and %d", maxBulkResults)
	}
	from, to := int64(math.MinInt64), int64(math.MaxInt64)
	if req.StartStep.Set {
		from, to = req.StartStep.V, req.EndStep.V
	}
	ctx := r.Context()
	out := []metricJSON{}
	for _, id := range req.RunIDs {
		ru, err := s.get(ctx, id)
		if err != nil {
			return nil, err
		}
		pts, err := s.points(ctx, ru, req.MetricKey)
		if err != nil {
			return nil, err
		}
		for _, p := range tracker.SampleSteps(pts, from, to, int(n)) {
			out = append(out, metricJSON{Key: req.MetricKey, Value: jsonFloat(p.Value), Timestamp: p.Time, Step: p.Step, RunID: ru.ID})
		}
	}
	return map[string]any{"metrics": out}, nil
}
