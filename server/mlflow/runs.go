package mlflow

import (
	"context"
	"encoding/base64"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gitruns/gitruns/run/proc"

	"github.com/gitruns/gitruns/run"
	"github.com/gitruns/gitruns/run/live"
	"github.com/gitruns/gitruns/run/tracker"
)

type createRunReq struct {
	ExperimentID string `json:"experiment_id"`
	UserID       string `json:"user_id"`
	RunName      string `json:"run_name"`
	StartTime    i64    `json:"start_time"`
	Tags         []kv   `json:"tags"`
}

func createRun(s *Server, r *http.Request) (any, error) {
	var req createRunReq
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	ctx := r.Context()
	exp, err := s.experiment(ctx, req.ExperimentID)
	if err != nil {
		return nil, err
	}
	if exp.Deleted {
		return nil, invalid("experiment %s (%s) is deleted: restore it to create runs in it", exp.ID, exp.Name)
	}
	tags := map[string]string{}
	for _, t := range req.Tags {
		tags[t.Key] = t.Value
	}
	name := req.RunName
	if n := tags[tagRunName]; n != "" && name == "" {
		name = n
	}
	delete(tags, tagRunName)
	if req.UserID != "" && tags[tagUser] == "" {
		tags[tagUser] = req.UserID
	}
	if p := tags[tagParent]; p != "" {
		parent, err := s.t.Get(ctx, p)
		if err != nil {
			return nil, invalid("parent run %q: %v", p, err)
		}
		tags[tagParent] = parent.ID // as a full id, whatever the client sent
	}
	o := live.Options{Name: name, Experiment: exp.runName(), Tags: tags}
	if req.StartTime.Set && req.StartTime.V > 0 {
		o.Now = time.UnixMilli(req.StartTime.V)
	}
	file, client := clientFile(r, tags[tagSource])
	o.Source, o.SourceDir = s.source(file, tags[tagCommit]), sourceDir(s.t, file)
	lr, err := s.h.Start(ctx, o, client)
	if err != nil {
		return nil, badValue(err)
	}
	s.wrote()
	rec, err := lr.Record()
	if err != nil {
		return nil, err
	}
	return map[string]any{"run": s.runJSON(ctx, tracker.Run{ID: lr.ID(), Record: rec, Live: true}, nil)}, nil
}

// source is the code a run ran whose client's source file is file: the
// work tree's, as exec records it, when file lies inside the work tree
// of the served repository; else commit, the one the client names, when
// the repository has it; else none. Nil means the work tree's.
func (s *Server) source(file, commit string) *run.Source {
	if top := s.t.Top(); top != "" && filepath.IsAbs(file) && insideDir(top, file) {
		return nil
	}
	if commit != "" && s.t.HasCommit(commit) {
		return &run.Source{Commit: commit}
	}
	return &run.Source{}
}

// clientFile makes the client's source file absolute: MLflow's clients
// name it as the program was started (train.py), relative to a directory
// the server is not told. A client on this machine is found by its
// connection (a few milliseconds, so only when needed), and its working
// directory read; its pid comes back too, 0 when it was not found.
func clientFile(r *http.Request, file string) (string, int) {
	if file == "" || filepath.IsAbs(file) {
		return file, 0
	}
	remote, err := netip.ParseAddrPort(r.RemoteAddr)
	local, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	if err != nil || !ok || !remote.Addr().Unmap().IsLoopback() {
		return file, 0
	}
	l, err := netip.ParseAddrPort(local.String())
	if err != nil {
		return file, 0
	}
	pid, ok := proc.Peer(l, remote)
	if !ok {
		return file, 0
	}
	dir, ok := proc.Cwd(pid)
	if !ok {
		return file, pid
	}
	return filepath.Join(dir, file), pid
}

func insideDir(dir, file string) bool {
	rel, err := filepath.Rel(dir, file)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// sourceDir is the directory, relative to the top of the work tree, of the
// client's source file, so that the run can be repeated there.
func sourceDir(t *tracker.Tracker, file string) string {
	if !filepath.IsAbs(file) {
		return ""
	}
	return t.RelDir(filepath.Dir(file))
}

type runIDReq struct {
	RunID   string `json:"run_id"`
	RunUUID string `json:"run_uuid"`
}

func (q runIDReq) id() (string, error) {
	id := q.RunID
	if id == "" {
		id = q.RunUUID
	}
	if id == "" {
		return "", invalid("missing value for required parameter 'run_id'")
	}
	return id, nil
}

func getRun(s *Server, r *http.Request) (any, error) {
	var req runIDReq
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	id, err := req.id()
	if err != nil {
		return nil, err
	}
	ru, err := s.get(r.Context(), id)
	if err != nil {
		return nil, err
	}
	return map[string]any{"run": s.runJSON(r.Context(), ru, nil)}, nil
}

// get finds the run id names, as the command line resolves a RUN.
func (s *Server) get(ctx context.Context, id string) (tracker.Run, error) {
	ru, err := s.t.Get(ctx, id)
	if errors.Is(err, run.ErrNotFound) {
		return tracker.Run{}, notFound("Run with id=%s not found", id)
	}
	if err != nil {
		return tracker.Run{}, badValue(err)
	}
	return ru, nil
}

// runJSON is the Run message of ru; exps, when given, maps experiment
// names to ids for a listing of many runs.
func (s *Server) runJSON(ctx context.Context, ru tracker.Run, exps *expIndex) runJSON {
	if exps == nil {
		exps = s.expIndex(ctx)
	}
	exp := exps.idOf(ru.Record.Experiment)
	out := runJSON{Info: runInfo(ru.Record, exp), Data: runData(ru.Record), Inputs: decodeInputs(ru.Record.Tags[tagInputs])}
	if o := ru.Record.Tags[tagOutputs]; o != "" {
		out.Outputs = decodeOutputs(o)
	}
	return out
}

type updateRunReq struct {
	RunID   string `json:"run_id"`
	RunUUID string `json:"run_uuid"`
	Status  string `json:"status"`
	EndTime i64    `json:"end_time"`
	RunName string `json:"run_name"`
}

func updateRun(s *Server, r *http.Request) (any, error) {
	var req updateRunReq
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	id, err := runIDReq{req.RunID, req.RunUUID}.id()
	if err != nil {
		return nil, err
	}
	ctx := r.Context()
	ru, err := s.get(ctx, id)
	if err != nil {
		return nil, err
	}
	id = ru.ID
	if req.RunName != "" && req.RunName != ru.Record.Name {
		if err := s.t.Rename(ctx, id, req.RunName); err != nil {
			return nil, badValue(err)
		}
	}
	if req.Status != "" {
		st, err := parseStatus(req.Status)
		if err != nil {
			return nil, err
		}
		if st != run.Running {
			var end time.Time
			if req.EndTime.Set && req.EndTime.V > 0 {
				end = time.UnixMilli(req.EndTime.V)
			}
			if err := s.end(ctx, ru, st, end); err != nil {
				return nil, err
			}
		}
	}
	s.wrote()
	if ru, err = s.get(ctx, id); err != nil {
		return nil, err
	}
	return map[string]any{"run_info": runInfo(ru.Record, s.expIndex(ctx).idOf(ru.Record.Experiment))}, nil
}

// end ends a run with status; a run that has ended already is left as it
// is, as MLflow's clients may end a run twice.
func (s *Server) end(ctx context.Context, ru tracker.Run, st run.Status, end time.Time) error {
	if ru.Record.Status != run.Running {
		return nil
	}
	err := s.h.End(ctx, ru.ID, st, end)
	if errors.Is(err, tracker.ErrEnded) {
		return nil
	}
	return err
}

func deleteRun(s *Server, r *http.Request) (any, error) {
	return nil, s.lifecycle(r, true)
}

func restoreRun(s *Server, r *http.Request) (any, error) {
	return nil, s.lifecycle(r, false)
}

func (s *Server) lifecycle(r *http.Request, del bool) error {
	var req runIDReq
	if err := decode(r, &req); err != nil {
		return err
	}
	id, err := req.id()
	if err != nil {
		return err
	}
	ctx := r.Context()
	ru, err := s.get(ctx, id)
	if err != nil {
		return err
	}
	defer s.wrote()
	if del {
		return s.t.SoftDelete(ctx, ru.ID)
	}
	return s.t.Restore(ctx, ru.ID)
}

type searchRunsReq struct {
	ExperimentIDs []string `json:"experiment_ids"`
	Filter        string   `json:"filter"`
	RunViewType   viewType `json:"run_view_type"`
	MaxResults    i64      `json:"max_results"`
	OrderBy       []string `json:"order_by"`
	PageToken     string   `json:"page_token"`
}

// maxSearchResults is the most runs one page of a search returns: the
// least MLflow's servers guarantee.
const maxSearchResults = 50000

func searchRuns(s *Server, r *http.Request) (any, error) {
	var req searchRunsReq
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	limit, off, err := paging(req.MaxResults, req.PageToken)
	if err != nil {
		return nil, err
	}
	q := tracker.Query{Where: req.Filter, Experiments: req.ExperimentIDs, Deleted: deletedView(req.RunViewType)}
	for _, o := range req.OrderBy {
		ord, err := parseOrder(o)
		if err != nil {
			return nil, err
		}
		q.Order = append(q.Order, ord)
	}
	ctx := r.Context()
	rs, err := s.listing(ctx)
	if err != nil {
		return nil, err
	}
	found, err := rs.Query(q)
	if err != nil {
		return nil, invalid("invalid filter or order: %v", err)
	}
	page, next := pageOf(found, off, limit)
	exps := s.expIndex(ctx)
	out := make([]runJSON, len(page))
	for i, ru := range page {
		out[i] = s.runJSON(ctx, ru, exps)
	}
	res := map[string]any{"runs": out}
	if next != "" {
		res["next_page_token"] = next
	}
	return res, nil
}

func deletedView(v viewType) tracker.DeletedView {
	switch v {
	case deletedOnly:
		return tracker.OnlyDeleted
	case allViews:
		return tracker.AlsoDeleted
	}
	return tracker.HideDeleted
}

// parseOrder reads one of MLflow's order_by clauses: a key, then ASC or
// DESC.
func parseOrder(s string) (tracker.Order, error) {
	s = strings.TrimSpace(s)
	o := tracker.Order{Key: s}
	if i := strings.LastIndexAny(s, " \t"); i > 0 {
		switch strings.ToUpper(s[i+1:]) {
		case "DESC":
			o.Key, o.Desc = strings.TrimSpace(s[:i]), true
		case "ASC":
			o.Key = strings.TrimSpace(s[:i])
		}
	}
	if o.Key == "" {
		return o, invalid("invalid order_by clause %q", s)
	}
	return o, nil
}

// paging reads the max_results and page_token of a search: MLflow's
// default of 1,000 results, up to maxSearchResults.
func paging(max i64, tok string) (limit, off int, err error) {
	n := int64(1000)
	if max.Set {
		n = max.V
	}
	if n <= 0 || n > maxSearchResults {
		return 0, 0, invalid("invalid value %d for parameter 'max_results' supplied: it must be between 1 and %d", n, maxSearchResults)
	}
	off, err = pageOffset(tok)
	return int(n), off, err
}

// pageOffset reads a page token: the offset of the page in the results,
// which is all a listing of runs at one moment needs.
func pageOffset(tok string) (int, error) {
	if tok == "" {
		return 0, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err == nil {
		if n, err := strconv.Atoi(strings.TrimPrefix(string(b), "offset:")); err == nil && n >= 0 {
			return n, nil
		}
	}
	return 0, invalid("invalid page token %q", tok)
}

func pageToken(off int) string {
	return base64.RawURLEncoding.EncodeToString([]byte("offset:" + strconv.Itoa(off)))
}

// pageOf returns the page of items at off, and the token of the next one
// ("" when there is none).
func pageOf[T any](items []T, off, n int) ([]T, string) {
	if off >= len(items) {
		return nil, ""
	}
	end := min(off+n, len(items))
	if end < len(items) {
		return items[off:end], pageToken(end)
	}
	return items[off:end], ""
}

// listing returns the runs of the repository, listed afresh unless
// nothing was written through this server since the last listing, less
// than a moment ago: a client paging through a search, or a UI polling,
// asks many times a second.
func (s *Server) listing(ctx context.Context) (*tracker.Runs, error) {
	return s.t.RecentRuns(ctx, ListingTTL)
}

// ListingTTL is how long a listing serves searches when nothing was
// written through the server: what other processes wrote shows after it.
const ListingTTL = 250 * time.Millisecond

// wrote notes that a run changed through the server, so that the next
// search lists afresh.
func (s *Server) wrote() { s.t.NoteChange() }
