package mlflow

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
)

// Logged models (MLflow 3): a model a run logged, with its own id, status,
// tags and params. git-runs keeps each in the run that logged it: its
// description as JSON in the run's tag gitruns.mlflow.model.<id>, its
// files among the run's artifacts under the model's name (model/MLmodel
// for mlflow.sklearn.log_model(m, "model")), where runs:/<run>/model
// finds them too. A model logged outside of any run is refused.

const modelTagPrefix = "gitruns.mlflow.model."

type loggedModel struct {
	ID           string            `json:"model_id"`
	ExperimentID string            `json:"experiment_id"`
	Name         string            `json:"name"`
	Created      int64             `json:"creation_timestamp_ms"`
	Updated      int64             `json:"last_updated_timestamp_ms"`
	Status       string            `json:"status"`
	StatusMsg    string            `json:"status_message,omitempty"`
	ModelType    string            `json:"model_type,omitempty"`
	SourceRunID  string            `json:"source_run_id"`
	Dir          string            `json:"dir"` // below the run's artifacts
	Tags         map[string]string `json:"tags,omitempty"`
	Params       map[string]string `json:"params,omitempty"`

	runID string
	dir   string
}

func (m *loggedModel) out() map[string]any {
	info := map[string]any{
		"model_id": m.ID, "experiment_id": m.ExperimentID, "name": m.Name,
		"creation_timestamp_ms": m.Created, "last_updated_timestamp_ms": m.Updated,
		"artifact_uri": "mlflow-artifacts:/" + m.ExperimentID + "/models/" + m.ID + "/artifacts",
		"status":       m.Status, "source_run_id": m.SourceRunID, "tags": sortedKV(m.Tags),
	}
	if m.ModelType != "" {
		info["model_type"] = m.ModelType
	}
	if m.StatusMsg != "" {
		info["status_message"] = m.StatusMsg
	}
	return map[string]any{"info": info, "data": map[string]any{"params": sortedKV(m.Params), "metrics": []any{}}}
}

func sortedKV(m map[string]string) []kv {
	out := []kv{}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, kv{k, m[k]})
	}
	return out
}

var modelIDPattern = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^m-[0-9a-f]{32}$`) })

// model finds logged model id: in the runs' records.
func (s *Server) model(ctx context.Context, id string) (*loggedModel, error) {
	if !modelIDPattern().MatchString(id) {
		return nil, notFound("Logged model with ID '%s' not found", id)
	}
	if runID, ok := s.modelRuns.Load(id); ok {
		if ru, err := s.get(ctx, runID.(string)); err == nil {
			if v, ok := ru.Record.Tags[modelTagPrefix+id]; ok {
				return readModel(ru.ID, v)
			}
		}
	}
	rs, err := s.listing(ctx)
	if err != nil {
		return nil, err
	}
	for _, ru := range rs.All {
		if v, ok := ru.Record.Tags[modelTagPrefix+id]; ok {
			return readModel(ru.ID, v)
		}
	}
	return nil, notFound("Logged model with ID '%s' not found", id)
}

func readModel(runID, v string) (*loggedModel, error) {
	var m loggedModel
	if err := json.Unmarshal([]byte(v), &m); err != nil {
		return nil, invalid("logged model of run %s is unreadable: %v", runID, err)
	}
	m.runID, m.dir = runID, m.Dir
	return &m, nil
}

func (s *Server) saveModel(ctx context.Context, m *loggedModel) error {
	m.Dir = m.dir
	s.modelRuns.Store(m.ID, m.runID)
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	v := string(b)
	return s.editTag(ctx, m.runID, modelTagPrefix+m.ID, &v)
}

type createModelReq struct {
	ExperimentID string `json:"experiment_id"`
	Name         string `json:"name"`
	ModelType    string `json:"model_type"`
	SourceRunID  string `json:"source_run_id"`
	Params       []kv   `json:"params"`
	Tags         []kv   `json:"tags"`
}

func createLoggedModel(s *Server, r *http.Request) (any, error) {
	var req createModelReq
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	if req.SourceRunID == "" {
		return nil, invalid("git runs serve keeps a logged model in the run that logs it: log the model inside a run (source_run_id)")
	}
	ctx := r.Context()
	ru, err := s.get(ctx, req.SourceRunID)
	if err != nil {
		return nil, err
	}
	name := req.Name
	if name == "" {
		name = "model"
	}
	dir, err := CleanArtifactPath(name, false)
	if err != nil {
		return nil, invalid("model name %q: %v", name, err)
	}
	var b [16]byte
	rand.Read(b[:])
	now := time.Now().UnixMilli()
	m := &loggedModel{
		ID: "m-" + hex.EncodeToString(b[:]), ExperimentID: req.ExperimentID, Name: name,
		Created: now, Updated: now, Status: "LOGGED_MODEL_PENDING", ModelType: req.ModelType,
		SourceRunID: ru.ID, Tags: kvMap(req.Tags), Params: kvMap(req.Params), runID: ru.ID, dir: dir,
	}
	if m.ExperimentID == "" {
		m.ExperimentID = s.expIndex(ctx).idOf(ru.Record.Experiment)
	}
	// Two models of one name in a run keep their files apart.
	for k, v := range ru.Record.Tags {
		if strings.HasPrefix(k, modelTagPrefix) {
			if other, err := readModel(ru.ID, v); err == nil && other.dir == dir {
				m.dir = "models/" + m.ID
			}
		}
	}
	if err := s.saveModel(ctx, m); err != nil {
		return nil, err
	}
	return map[string]any{"model": m.out()}, nil
}

func kvMap(kvs []kv) map[string]string {
	m := map[string]string{}
	for _, x := range kvs {
		m[x.Key] = x.Value
	}
	return m
}

type modelReq struct {
	ModelID string `json:"model_id"`
	Status  string `json:"status"`
	Tags    []kv   `json:"tags"`
	Params  []kv   `json:"params"`
}

// modelRoute serves logged-models/{id}: GET, PATCH (finalize), DELETE.
func modelRoute(s *Server, r *http.Request) (any, error) {
	ctx := r.Context()
	m, err := s.model(ctx, arg(r, 0))
	if err != nil {
		return nil, err
	}
	switch r.Method {
	case http.MethodGet:
		return map[string]any{"model": m.out()}, nil
	case http.MethodDelete:
		return nil, s.editTag(ctx, m.runID, modelTagPrefix+m.ID, nil)
	}
	var req modelReq
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	switch strings.ToUpper(req.Status) {
	case "LOGGED_MODEL_READY", "2", "READY":
		m.Status = "LOGGED_MODEL_READY"
	case "LOGGED_MODEL_UPLOAD_FAILED", "3", "FAILED":
		m.Status = "LOGGED_MODEL_UPLOAD_FAILED"
	case "LOGGED_MODEL_PENDING", "1", "PENDING":
		m.Status = "LOGGED_MODEL_PENDING"
	default:
		return nil, invalid("invalid logged model status %q", req.Status)
	}
	m.Updated = time.Now().UnixMilli()
	if err := s.saveModel(ctx, m); err != nil {
		return nil, err
	}
	return map[string]any{"model": m.out()}, nil
}

// modelTags serves PATCH logged-models/{id}/tags.
func modelTags(s *Server, r *http.Request) (any, error) {
	return s.editModel(r, func(m *loggedModel, req modelReq) {
		if m.Tags == nil {
			m.Tags = map[string]string{}
		}
		maps.Copy(m.Tags, kvMap(req.Tags))
	})
}

// modelParams serves POST logged-models/{id}/params.
func modelParams(s *Server, r *http.Request) (any, error) {
	return s.editModel(r, func(m *loggedModel, req modelReq) {
		if m.Params == nil {
			m.Params = map[string]string{}
		}
		maps.Copy(m.Params, kvMap(req.Params))
	})
}

// modelTagDelete serves DELETE logged-models/{id}/tags/{key}.
func modelTagDelete(s *Server, r *http.Request) (any, error) {
	key := arg(r, 1)
	return s.editModel(r, func(m *loggedModel, _ modelReq) { delete(m.Tags, key) })
}

func (s *Server) editModel(r *http.Request, edit func(*loggedModel, modelReq)) (any, error) {
	var req modelReq
	if r.Method != http.MethodDelete {
		if err := decode(r, &req); err != nil {
			return nil, err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ctx := r.Context()
	m, err := s.model(ctx, arg(r, 0))
	if err != nil {
		return nil, err
	}
	edit(m, req)
	m.Updated = time.Now().UnixMilli()
	return nil, s.saveModel(ctx, m)
}

type searchModelsReq struct {
	ExperimentIDs []string `json:"experiment_ids"`
	Filter        string   `json:"filter"`
	MaxResults    i64      `json:"max_results"`
	PageToken     string   `json:"page_token"`
}

func searchLoggedModels(s *Server, r *http.Request) (any, error) {
	var req searchModelsReq
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	conds, err := parseModelFilter(req.Filter)
	if err != nil {
		return nil, err
	}
	limit := int64(100)
	if req.MaxResults.Set && req.MaxResults.V > 0 {
		limit = min(req.MaxResults.V, maxSearchResults)
	}
	off, err := pageOffset(req.PageToken)
	if err != nil {
		return nil, err
	}
	rs, err := s.listing(r.Context())
	if err != nil {
		return nil, err
	}
	var found []*loggedModel
	for _, ru := range rs.All {
		for k, v := range ru.Record.Tags {
			if !strings.HasPrefix(k, modelTagPrefix) {
				continue
			}
			m, err := readModel(ru.ID, v)
			if err != nil {
				continue
			}
			if (len(req.ExperimentIDs) == 0 || slices.Contains(req.ExperimentIDs, m.ExperimentID)) && conds.match(m) {
				found = append(found, m)
			}
		}
	}
	slices.SortFunc(found, func(a, b *loggedModel) int { return int(b.Created - a.Created) })
	page, next := pageOf(found, off, int(limit))
	out := make([]any, len(page))
	for i, m := range page {
		out[i] = m.out()
	}
	res := map[string]any{"models": out}
	if next != "" {
		res["next_page_token"] = next
	}
	return res, nil
}

// modelFilter is a filter of logged models: comparisons of a field with
// a quoted value by = or !=, joined by AND, which is what MLflow's
// clients send (source_run_id = '…' AND name = '…').
type modelFilter []modelCond

type modelCond struct {
	key, value string
	not        bool
}

var condPattern = regexp.MustCompile(`^\s*([A-Za-z_][A-Za-z0-9_.]*|` + "`[^`]+`" + `)\s*(=|!=)\s*'((?:[^']|'')*)'\s*$`)

func parseModelFilter(f string) (modelFilter, error) {
	if strings.TrimSpace(f) == "" {
		return nil, nil
	}
	var out modelFilter
	for _, part := range regexp.MustCompile(`(?i)\s+AND\s+`).Split(f, -1) {
		m := condPattern.FindStringSubmatch(part)
		if m == nil {
			return nil, invalid("invalid logged model filter %q: this server reads comparisons by = or != joined by AND", f)
		}
		out = append(out, modelCond{key: strings.Trim(m[1], "`"), value: strings.ReplaceAll(m[3], "''", "'"), not: m[2] == "!="})
	}
	return out, nil
}

func (f modelFilter) match(m *loggedModel) bool {
	for _, c := range f {
		var v string
		switch {
		case c.key == "name" || c.key == "attributes.name":
			v = m.Name
		case c.key == "source_run_id" || c.key == "attributes.source_run_id":
			v = m.SourceRunID
		case c.key == "model_id" || c.key == "attributes.model_id":
			v = m.ID
		case c.key == "status" || c.key == "attributes.status":
			v = m.Status
		case c.key == "model_type" || c.key == "attributes.model_type":
			v = m.ModelType
		case strings.HasPrefix(c.key, "tags."):
			v = m.Tags[strings.TrimPrefix(c.key, "tags.")]
		case strings.HasPrefix(c.key, "params."):
			v = m.Params[strings.TrimPrefix(c.key, "params.")]
		default:
			return false
		}
		if (v == c.value) == c.not {
			return false
		}
	}
	return true
}

// modelArtifacts serves logged-models/{id}/artifacts/directories.
func modelArtifacts(s *Server, r *http.Request) (any, error) {
	ctx := r.Context()
	m, err := s.model(ctx, arg(r, 0))
	if err != nil {
		return nil, err
	}
	sub, err := CleanArtifactPath(r.URL.Query().Get("artifact_directory_path"), true)
	if err != nil {
		return nil, invalid("%v", err)
	}
	files, err := s.artifactList(ctx, m.runID)
	if err != nil {
		return nil, err
	}
	dir := m.dir
	if sub != "" {
		dir += "/" + sub
	}
	list := children(files, dir, true)
	for i := range list {
		list[i].Path = strings.TrimPrefix(list[i].Path, m.dir+"/")
	}
	return map[string]any{"root_uri": "mlflow-artifacts:/" + m.ExperimentID + "/models/" + m.ID + "/artifacts", "files": list}, nil
}
