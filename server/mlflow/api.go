// Package mlflow serves MLflow's tracking REST API over a repository's
// runs, so that unmodified MLflow code logs into git: the experiment,
// run, metric, artifact and logged-model endpoints of MLflow's protocol
// (mlflow/protos/service.proto, mlflow_artifacts.proto), under
// /api/2.0/mlflow/ and /ajax-api/2.0/mlflow/.
//
// It holds the translation only: MLflow's JSON shapes, names and error
// codes on one side, calls into run/tracker on the other. Runs created
// here are recorded by a tracker.Hosted, which owns them.
package mlflow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/gitruns/gitruns/run"
	"github.com/gitruns/gitruns/run/tracker"
)

// MaxRequest bounds the body of a tracking request: MLflow's own limit
// for log-batch is 1 MB, and no other request comes near it.
const MaxRequest = 1 << 20

// Options tune a Server.
type Options struct {
	// MaxArtifact bounds one uploaded artifact file, in bytes; zero means
	// DefaultMaxArtifact.
	MaxArtifact int64
	// TempDir is where uploads wait before they are stored; "" for the
	// system's.
	TempDir string
}

// DefaultMaxArtifact is the largest artifact file accepted by default.
const DefaultMaxArtifact = 2 << 30

// Server answers MLflow's REST API from a tracker.
type Server struct {
	t    *tracker.Tracker
	h    *tracker.Hosted
	o    Options
	mux  map[string]endpoint
	mpus mpuTable // multipart uploads under way
	// modelRuns remembers the run of each logged model seen, by id, so
	// that the uploads of a model's files find it without a listing.
	modelRuns sync.Map

	mu sync.Mutex // serialises edits of experiments and logged models
}

// endpoint is one route of the API.
type endpoint struct {
	methods string // "GET", "POST", "GET POST"
	serve   func(s *Server, r *http.Request) (any, error)
}

// New returns a server of t's runs, recording the runs it creates with h.
func New(t *tracker.Tracker, h *tracker.Hosted, o Options) *Server {
	if o.MaxArtifact <= 0 {
		o.MaxArtifact = DefaultMaxArtifact
	}
	s := &Server{t: t, h: h, o: o}
	s.mux = routes()
	return s
}

// The prefixes the API is served under: MLflow's clients use the first,
// its web UI the second.
var apiPrefixes = []string{
	"/api/2.0/mlflow/", "/ajax-api/2.0/mlflow/", "/api/2.0/preview/mlflow/",
	"/api/3.0/mlflow/", "/ajax-api/3.0/mlflow/",
}

var artifactPrefixes = []string{"/api/2.0/mlflow-artifacts/", "/ajax-api/2.0/mlflow-artifacts/"}

// ServeHTTP answers one request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch p {
	case "/health":
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "OK")
		return
	case "/version":
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, Version)
		return
	case "/get-artifact", "/ajax-api/2.0/mlflow/get-artifact":
		s.getArtifact(w, r)
		return
	}
	for _, pre := range artifactPrefixes {
		if rest, ok := strings.CutPrefix(r.URL.EscapedPath(), pre); ok {
			s.serveArtifacts(w, r, rest)
			return
		}
	}
	for _, pre := range apiPrefixes {
		if rest, ok := strings.CutPrefix(p, pre); ok {
			s.serveAPI(w, r, rest)
			return
		}
	}
	writeError(w, errNotFoundEndpoint(p))
}

// Version is the MLflow version the server says it is, for clients that
// check which endpoints to expect.
const Version = "3.1.0"

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request, route string) {
	ep, args, ok := s.route(route)
	if !ok {
		writeError(w, errNotFoundEndpoint(r.URL.Path))
		return
	}
	if !strings.Contains(ep.methods, r.Method) {
		writeError(w, &apiError{http.StatusMethodNotAllowed, "BAD_REQUEST", fmt.Sprintf("%s is not allowed on %s", r.Method, r.URL.Path)})
		return
	}
	ctx := context.WithValue(r.Context(), routeArgs{}, args)
	res, err := ep.serve(s, r.WithContext(ctx))
	if err != nil {
		writeError(w, err)
		return
	}
	if raw, ok := res.(rawJSON); ok {
		w.Header().Set("Content-Type", "application/json")
		w.Write(raw)
		return
	}
	if res == nil {
		res = struct{}{}
	}
	writeJSON(w, http.StatusOK, res)
}

// rawJSON is an answer already written as JSON: long metric histories are
// written by hand, at a third of what encoding/json costs for them.
type rawJSON []byte

type routeArgs struct{}

// route finds the endpoint of route, with the values of the {…} parts of
// its pattern.
func (s *Server) route(route string) (endpoint, []string, bool) {
	route = strings.TrimSuffix(route, "/")
	if ep, ok := s.mux[route]; ok {
		return ep, nil, true
	}
	// Patterned routes: logged-models/{model_id}[/tags|/params|/tags/{key}].
	parts := strings.Split(route, "/")
	if len(parts) >= 2 && parts[0] == "logged-models" && parts[1] != "search" {
		pattern := "logged-models/{}"
		args := []string{parts[1]}
		switch {
		case len(parts) == 3:
			pattern += "/" + parts[2]
		case len(parts) == 4 && parts[2] == "artifacts" && parts[3] == "directories":
			pattern += "/artifacts"
		case len(parts) == 4 && parts[2] == "tags":
			pattern += "/tags/{}"
			args = append(args, parts[3])
		case len(parts) > 3:
			return endpoint{}, nil, false
		}
		ep, ok := s.mux[pattern]
		return ep, args, ok
	}
	return endpoint{}, nil, false
}

// arg returns the i-th {…} value of the request's route.
func arg(r *http.Request, i int) string {
	args, _ := r.Context().Value(routeArgs{}).([]string)
	if i < len(args) {
		return args[i]
	}
	return ""
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b, _ = json.Marshal(apiError{Code: "INTERNAL_ERROR", Message: "encode response: " + err.Error()})
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}

// apiError is an error as MLflow reports it.
type apiError struct {
	status  int
	Code    string `json:"error_code"`
	Message string `json:"message"`
}

func (e *apiError) Error() string { return e.Message }

func invalid(format string, args ...any) error {
	return &apiError{http.StatusBadRequest, "INVALID_PARAMETER_VALUE", fmt.Sprintf(format, args...)}
}

func notFound(format string, args ...any) error {
	return &apiError{http.StatusNotFound, "RESOURCE_DOES_NOT_EXIST", fmt.Sprintf(format, args...)}
}

func exists(format string, args ...any) error {
	return &apiError{http.StatusBadRequest, "RESOURCE_ALREADY_EXISTS", fmt.Sprintf(format, args...)}
}

func errNotFoundEndpoint(path string) error {
	return &apiError{http.StatusNotFound, "ENDPOINT_NOT_FOUND", fmt.Sprintf("no endpoint %s on this server (git runs serve)", path)}
}

// writeError answers with err as MLflow's error object: errors from the
// library by their kind, anything else as an internal error whose message
// is one line.
func writeError(w http.ResponseWriter, err error) {
	var ae *apiError
	switch {
	case errors.As(err, &ae):
	case errors.Is(err, run.ErrNotFound):
		ae = &apiError{http.StatusNotFound, "RESOURCE_DOES_NOT_EXIST", err.Error()}
	case errors.Is(err, run.ErrExists):
		ae = &apiError{http.StatusBadRequest, "RESOURCE_ALREADY_EXISTS", err.Error()}
	case errors.Is(err, tracker.ErrEnded), errors.Is(err, run.ErrLive):
		ae = &apiError{http.StatusBadRequest, "INVALID_STATE", err.Error()}
	case errors.Is(err, run.ErrConflict):
		ae = &apiError{http.StatusConflict, "ABORTED", err.Error()}
	case errors.Is(err, errBadValue):
		ae = &apiError{http.StatusBadRequest, "INVALID_PARAMETER_VALUE", err.Error()}
	default:
		ae = &apiError{http.StatusInternalServerError, "INTERNAL_ERROR", err.Error()}
	}
	ae.Message = oneLine(ae.Message)
	writeJSON(w, ae.status, ae)
}

// errBadValue marks an error the library returned for a value the client
// sent: it is answered as INVALID_PARAMETER_VALUE.
var errBadValue = errors.New("invalid value")

func badValue(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, run.ErrNotFound) || errors.Is(err, tracker.ErrEnded) || errors.Is(err, run.ErrConflict) {
		return err
	}
	return badValueError{err}
}

type badValueError struct{ err error }

func (e badValueError) Error() string   { return e.err.Error() }
func (e badValueError) Unwrap() []error { return []error{e.err, errBadValue} }

func oneLine(s string) string {
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i]
	}
	return s
}

// serverInfo answers the probe of MLflow 3's clients for what the server
// offers.
func serverInfo(s *Server, r *http.Request) (any, error) {
	return map[string]any{"store_type": "GitStore", "workspaces_enabled": false}, nil
}
