// Package mlflowrest reads the runs of a running MLflow tracking server
// through its REST API (MLflow's service.proto, under /api/2.0/mlflow/),
// for git runs import: experiments/search and runs/search paged by
// page_token, metrics/get-history for each metric's full history, and
// artifacts/list with downloads through /get-artifact.
//
// The server is untrusted: every answer is read up to a size limit,
// every call has a time limit, ids and artifact paths are checked before
// they name anything, paging stops at a repeated token, and downloads
// go to files the source names itself, in a directory of its own, never
// to a path the server chose.
package mlflowrest

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gitruns/gitruns/run"
	"github.com/gitruns/gitruns/run/importer"
	"github.com/gitruns/gitruns/run/mlflowtags"
)

// Options tune a Source.
type Options struct {
	// Token is sent as a bearer token (MLFLOW_TRACKING_TOKEN); else
	// Username and Password by basic authentication
	// (MLFLOW_TRACKING_USERNAME, MLFLOW_TRACKING_PASSWORD).
	Token, Username, Password string
	// MaxArtifact is the largest artifact file downloaded; larger ones
	// are listed with their size only. Zero means
	// importer.DefaultMaxArtifact: give the import's limit.
	MaxArtifact int64
	// RunsPage and HistoryPage are how many runs and metric points one
	// call asks for; zero means 1,000 and 25,000, as MLflow's client
	// asks.
	RunsPage, HistoryPage int
	// MaxBody bounds one JSON answer, in bytes; zero means 64 MiB.
	MaxBody int64
	// Timeout bounds one call, from sending it to reading its answer;
	// zero means two minutes. A download has as long again for each 1 MiB
	// per second it takes.
	Timeout time.Duration
	// TempDir is where downloads wait until the import has stored them;
	// "" for the system's.
	TempDir string
	// CACert is a PEM file of the certificates an https server's must
	// chain to (MLFLOW_TRACKING_SERVER_CERT_PATH), instead of the
	// system's; InsecureTLS takes any certificate
	// (MLFLOW_TRACKING_INSECURE_TLS=true), as MLflow's clients do.
	CACert      string
	InsecureTLS bool
	// ListOnly lists artifacts with their sizes and downloads none: for
	// a dry run, which stores nothing.
	ListOnly bool
	// Experiments, when not empty, are the only experiments (by name or
	// id) whose runs are searched: the import's --experiment, so that
	// one experiment of a large server costs one experiment's calls.
	Experiments []string
}

// FromEnv returns the options an MLflow client takes from its
// environment: the credentials, the TLS settings, and the request
// timeout (MLFLOW_HTTP_REQUEST_TIMEOUT, in seconds).
func FromEnv(getenv func(string) string) (Options, error) {
	o := Options{
		Token:    getenv("MLFLOW_TRACKING_TOKEN"),
		Username: getenv("MLFLOW_TRACKING_USERNAME"),
		Password: getenv("MLFLOW_TRACKING_PASSWORD"),
	}
	o.CACert = getenv("MLFLOW_TRACKING_SERVER_CERT_PATH")
	switch v := strings.ToLower(getenv("MLFLOW_TRACKING_INSECURE_TLS")); v {
	case "", "false", "0":
	case "true", "1":
		o.InsecureTLS = true
	default:
		return o, fmt.Errorf("MLFLOW_TRACKING_INSECURE_TLS=%q: want true or false", v)
	}
	if s := getenv("MLFLOW_HTTP_REQUEST_TIMEOUT"); s != "" {
		d, err := time.ParseDuration(s + "s")
		if err != nil || d <= 0 {
			return o, fmt.Errorf("MLFLOW_HTTP_REQUEST_TIMEOUT=%q: want a number of seconds", s)
		}
		o.Timeout = d
	}
	return o, nil
}

// IsURL tells whether s names a tracking server: http:// or https://.
func IsURL(s string) bool {
	l := strings.ToLower(s)
	return strings.HasPrefix(l, "http://") || strings.HasPrefix(l, "https://")
}

// Source is an MLflow tracking server, as a source of runs to import.
type Source struct {
	c   *client
	tmp string

	mu   sync.Mutex
	exps []experimentJSON    // as the listing had them
	runs map[string]*runJSON // as the listing had them, by id
	dirs map[*importer.Run]string
}

// Open returns the source of the server at rawURL (http://host:port,
// with a path prefix when the server is below one). It sends nothing
// yet.
func Open(rawURL string, o Options) (*Source, error) {
	u, err := url.Parse(rawURL)
	if err != nil || !IsURL(rawURL) || u.Host == "" {
		return nil, fmt.Errorf("import: %q is not an MLflow server's URL: want http://HOST:PORT or https://HOST", oneLine(rawURL))
	}
	if u.User != nil {
		return nil, errors.New("import: put the server's credentials in MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD (or MLFLOW_TRACKING_TOKEN), not in the URL")
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("import: %s: the server's URL takes no query or fragment", oneLine(rawURL))
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.RawPath = ""
	if o.MaxArtifact <= 0 {
		o.MaxArtifact = importer.DefaultMaxArtifact
	}
	if o.RunsPage <= 0 {
		o.RunsPage = 1000
	}
	if o.HistoryPage <= 0 {
		o.HistoryPage = 25_000
	}
	if o.MaxBody <= 0 {
		o.MaxBody = 64 << 20
	}
	if o.Timeout <= 0 {
		o.Timeout = 2 * time.Minute
	}
	c, err := newClient(u, o)
	if err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	tmp, err := os.MkdirTemp(o.TempDir, "gitruns-import-*")
	if err != nil {
		return nil, fmt.Errorf("import: make a directory for downloads: %w", err)
	}
	return &Source{c: c, tmp: tmp, runs: map[string]*runJSON{}, dirs: map[*importer.Run]string{}}, nil
}

// Close removes the files the source downloaded.
func (s *Source) Close() error { return os.RemoveAll(s.tmp) }

// Release removes the files downloaded for r, which the import has
// stored.
func (s *Source) Release(r *importer.Run) {
	s.mu.Lock()
	dir, ok := s.dirs[r]
	delete(s.dirs, r)
	s.mu.Unlock()
	if ok {
		os.RemoveAll(dir)
	}
}

// The shapes of MLflow's answers, as far as an import reads them.
type (
	kv struct {
		Key   string `json:"key"`
		Value string `json:"value"`
	}
	experimentJSON struct {
		ID             string `json:"experiment_id"`
		Name           string `json:"name"`
		LifecycleStage string `json:"lifecycle_stage"`
		Tags           []kv   `json:"tags"`
	}
	runInfoJSON struct {
		RunID          string `json:"run_id"`
		RunUUID        string `json:"run_uuid"`
		RunName        string `json:"run_name"`
		ExperimentID   string `json:"experiment_id"`
		UserID         string `json:"user_id"`
		Status         string `json:"status"`
		StartTime      i64    `json:"start_time"`
		EndTime        i64    `json:"end_time"`
		ArtifactURI    string `json:"artifact_uri"`
		LifecycleStage string `json:"lifecycle_stage"`
	}
	metricJSON struct {
		Key       string `json:"key"`
		Value     f64    `json:"value"`
		Timestamp i64    `json:"timestamp"`
		Step      i64    `json:"step"`
	}
	runJSON struct {
		Info runInfoJSON `json:"info"`
		Data struct {
			Metrics []metricJSON `json:"metrics"`
			Params  []kv         `json:"params"`
			Tags    []kv         `json:"tags"`
		} `json:"data"`
		// filled in by Runs
		exp *experimentJSON
	}
)

// maxRuns bounds the runs of a server an import lists, and maxPages the
// pages of any one listing: a server that pages forever is refused.
const (
	maxRuns  = 10_000_000
	maxPages = 100_000
)

// Runs lists the server's experiments, deleted ones too, and the runs of
// each.
func (s *Source) Runs(ctx context.Context) ([]importer.Ref, []importer.Problem, error) {
	exps, err := s.experiments(ctx)
	if err != nil {
		return nil, nil, err
	}
	s.mu.Lock()
	s.exps = exps
	s.mu.Unlock()
	var refs []importer.Ref
	var probs []importer.Problem
	for i := range exps {
		e := &exps[i]
		if o := s.c.o.Experiments; len(o) > 0 && !slices.Contains(o, e.ID) && !slices.Contains(o, e.Name) {
			continue
		}
		if err := checkID("experiment", e.ID); err != nil {
			probs = append(probs, importer.Problem{Where: s.c.display, Err: err})
			continue
		}
		rs, err := s.experimentRuns(ctx, e)
		if err != nil {
			if ctx.Err() != nil {
				return nil, nil, ctx.Err()
			}
			probs = append(probs, importer.Problem{Where: s.expWhere(e.ID), Err: err, Experiment: e.ID})
			continue
		}
		for _, r := range rs {
			ref, err := s.ref(r)
			if err != nil {
				probs = append(probs, importer.Problem{Where: s.expWhere(e.ID), Err: err, Experiment: e.ID})
				continue
			}
			refs = append(refs, ref)
		}
		if len(refs) > maxRuns {
			return nil, nil, fmt.Errorf("import: %s lists more than %d runs", s.c.display, maxRuns)
		}
	}
	return refs, probs, nil
}

// Experiments returns the experiments Runs listed, with their tags, so
// that the import creates those it brings runs of with the same tags.
func (s *Source) Experiments(ctx context.Context) ([]importer.Experiment, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]importer.Experiment, 0, len(s.exps))
	for _, e := range s.exps {
		if checkID("experiment", e.ID) != nil {
			continue
		}
		x := importer.Experiment{ID: e.ID, Name: e.Name, Deleted: e.LifecycleStage == "deleted", Tags: map[string]string{}}
		for _, t := range e.Tags {
			x.Tags[t.Key] = t.Value
		}
		out = append(out, x)
	}
	return out, nil
}

// experiments lists every experiment, paged.
func (s *Source) experiments(ctx context.Context) ([]experimentJSON, error) {
	var all []experimentJSON
	seen := map[string]bool{}
	err := s.pages(func(tok string) (string, error) {
		var resp struct {
			Experiments []experimentJSON `json:"experiments"`
			Next        string           `json:"next_page_token"`
		}
		req := map[string]any{"view_type": "ALL", "max_results": 1000}
		if tok != "" {
			req["page_token"] = tok
		}
		if err := s.c.api(ctx, "POST", "experiments/search", nil, req, &resp); err != nil {
			return "", fmt.Errorf("import: %w", err)
		}
		for _, e := range resp.Experiments {
			if !seen[e.ID] {
				seen[e.ID] = true
				all = append(all, e)
			}
		}
		return resp.Next, nil
	})
	return all, err
}

// experimentRuns lists the runs of experiment e, deleted ones too, and
// keeps them for Load.
func (s *Source) experimentRuns(ctx context.Context, e *experimentJSON) ([]*runJSON, error) {
	var out []*runJSON
	err := s.pages(func(tok string) (string, error) {
		var resp struct {
			Runs []*runJSON `json:"runs"`
			Next string     `json:"next_page_token"`
		}
		req := map[string]any{"experiment_ids": []string{e.ID}, "run_view_type": "ALL", "max_results": s.c.o.RunsPage}
		if tok != "" {
			req["page_token"] = tok
		}
		if err := s.c.api(ctx, "POST", "runs/search", nil, req, &resp); err != nil {
			return "", err
		}
		for _, r := range resp.Runs {
			if r == nil {
				continue
			}
			r.exp = e
			out = append(out, r)
		}
		if len(out) > maxRuns {
			return "", fmt.Errorf("more than %d runs", maxRuns)
		}
		return resp.Next, nil
	})
	return out, err
}

// pages calls page with each page token, from "", until the answer
// has none; a token seen before ends the listing with an error.
func (s *Source) pages(page func(tok string) (string, error)) error {
	seen := map[string]bool{}
	tok := ""
	for range maxPages {
		next, err := page(tok)
		if err != nil || next == "" {
			return err
		}
		if seen[next] {
			return fmt.Errorf("import: %s: the server sent page token %q twice", s.c.display, oneLine(clip(next, 40)))
		}
		seen[next] = true
		tok = next
	}
	return fmt.Errorf("import: %s: more than %d pages", s.c.display, maxPages)
}

// ref reads the Ref of r, and keeps r for Load.
func (s *Source) ref(r *runJSON) (importer.Ref, error) {
	id := r.Info.RunID
	if id == "" {
		id = r.Info.RunUUID
	}
	if err := checkID("run", id); err != nil {
		return importer.Ref{}, err
	}
	if r.Info.ExperimentID != "" && r.Info.ExperimentID != r.exp.ID {
		return importer.Ref{}, fmt.Errorf("run %s: the search of experiment %s answered with a run of experiment %s", id, r.exp.ID, oneLine(clip(r.Info.ExperimentID, 40)))
	}
	st, ok := mlflowtags.ParseStatus(r.Info.Status)
	if !ok {
		return importer.Ref{}, fmt.Errorf("run %s: unknown run status %q", id, oneLine(clip(r.Info.Status, 40)))
	}
	s.mu.Lock()
	_, dup := s.runs[id]
	s.runs[id] = r
	s.mu.Unlock()
	if dup {
		return importer.Ref{}, fmt.Errorf("run %s: listed twice", id)
	}
	ref := importer.Ref{
		ID: id, Experiment: r.exp.Name, ExperimentID: r.exp.ID, Name: r.Info.RunName,
		Status: st, Deleted: r.Info.LifecycleStage == "deleted" || r.exp.LifecycleStage == "deleted",
		Start: time.UnixMilli(r.Info.StartTime.V), Where: s.runWhere(r.exp.ID, id),
	}
	for _, t := range r.Data.Tags {
		switch t.Key {
		case mlflowtags.Parent:
			ref.Parent = t.Value
		case mlflowtags.RunName:
			if ref.Name == "" {
				ref.Name = t.Value
			}
		}
	}
	return ref, nil
}

// checkID refuses an id that could not be MLflow's: empty, long, or with
// characters no id of MLflow's holds.
func checkID(kind, id string) error {
	if id == "" || len(id) > 256 {
		return fmt.Errorf("the server sent an invalid %s id %q", kind, oneLine(clip(id, 40)))
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("-_.", c)) {
			return fmt.Errorf("the server sent an invalid %s id %q", kind, oneLine(clip(id, 40)))
		}
	}
	return nil
}

// runWhere is the page of a run in MLflow's web UI, which names it in
// messages.
func (s *Source) runWhere(exp, id string) string {
	return s.c.display + "/#/experiments/" + exp + "/runs/" + id
}

func (s *Source) expWhere(exp string) string {
	return s.c.display + "/#/experiments/" + exp
}

// Load reads the run ref names: what the listing had, each metric's
// history, and the artifacts.
// IDTag is mlflowtags.RunID: imported runs keep their MLflow id there.
func (s *Source) IDTag() string { return mlflowtags.RunID }

func (s *Source) Load(ctx context.Context, ref importer.Ref) (*importer.Run, error) {
	s.mu.Lock()
	rj := s.runs[ref.ID]
	s.mu.Unlock()
	if rj == nil {
		return nil, fmt.Errorf("run %s was not listed", ref.ID)
	}
	r := &importer.Run{
		Ref: ref, User: rj.Info.UserID, ArtifactURI: rj.Info.ArtifactURI,
		Params: map[string]string{}, Tags: map[string]string{}, Metrics: map[string][]run.Point{},
	}
	if rj.Info.EndTime.Set && rj.Info.EndTime.V > 0 {
		r.End = time.UnixMilli(rj.Info.EndTime.V)
	}
	for _, p := range rj.Data.Params {
		r.Params[p.Key] = p.Value
	}
	for _, t := range rj.Data.Tags {
		r.Tags[t.Key] = t.Value
	}
	total := 0
	for _, m := range rj.Data.Metrics {
		if _, done := r.Metrics[m.Key]; done {
			continue
		}
		pts, err := s.history(ctx, ref.ID, m.Key, maxPoints-total)
		if err != nil {
			return nil, fmt.Errorf("metric %q: %w", m.Key, err)
		}
		total += len(pts)
		r.Metrics[m.Key] = pts
	}
	if err := s.artifacts(ctx, r); err != nil {
		return nil, err
	}
	return r, nil
}

// maxPoints bounds the points of one run read: past the most an import
// takes of a run.
const maxPoints = 5_000_000

// historyPage is one answer of metrics/get-history.
type historyPage struct {
	Metrics []metricJSON `json:"metrics"`
	Next    string       `json:"next_page_token"`
}

// decodeFast takes the usual shape of the answer without
// encoding/json, which client.api uses for anything else.
func (h *historyPage) decodeFast(b []byte) bool {
	ms, next, ok := fastHistory(b)
	if ok {
		h.Metrics, h.Next = ms, next
	}
	return ok
}

// history reads every point of metric key of run id, paged.
func (s *Source) history(ctx context.Context, id, key string, limit int) ([]run.Point, error) {
	var pts []run.Point
	err := s.pages(func(tok string) (string, error) {
		q := url.Values{"run_id": {id}, "run_uuid": {id}, "metric_key": {key}, "max_results": {fmt.Sprint(s.c.o.HistoryPage)}}
		if tok != "" {
			q.Set("page_token", tok)
		}
		var resp historyPage
		if err := s.c.api(ctx, "GET", "metrics/get-history", q, nil, &resp); err != nil {
			return "", err
		}
		for _, m := range resp.Metrics {
			if m.Key != "" && m.Key != key {
				return "", fmt.Errorf("the history of %q holds a point of %q", key, oneLine(clip(m.Key, 40)))
			}
			pts = append(pts, run.Point{Step: m.Step.V, Time: m.Timestamp.V, Value: float64(m.Value)})
		}
		if len(pts) > limit {
			return "", fmt.Errorf("more than %d points", maxPoints)
		}
		return resp.Next, nil
	})
	return pts, err
}
