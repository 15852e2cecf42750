package mlflow

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/gitruns/gitruns/run"
	"github.com/gitruns/gitruns/run/live"
)

// The proxied artifact API (mlflow_artifacts.proto): runs' artifact_uri
// is mlflow-artifacts:/<experiment>/<run>/artifacts, so clients send
// files here and the server stores them in the run, under artifacts/. A
// logged model's files (mlflow-artifacts:/<experiment>/models/<model>/
// artifacts) go into the run that logged it, under the model's name.

// artifactTarget is where an artifact path of the proxied API points.
type artifactTarget struct {
	runID string
	dir   string // the run's artifact directory the path is below ("" for the top)
	rest  string // below dir
}

func (a artifactTarget) path() string {
	switch {
	case a.dir == "":
		return a.rest
	case a.rest == "":
		return a.dir
	}
	return a.dir + "/" + a.rest
}

// target reads an artifact path of the proxied API.
func (s *Server) target(ctx context.Context, p string) (artifactTarget, error) {
	parts := strings.SplitN(p, "/", 5)
	switch {
	case len(parts) >= 3 && parts[2] == "artifacts":
		return artifactTarget{runID: parts[1], rest: strings.Join(parts[3:], "/")}, nil
	case len(parts) >= 4 && parts[1] == "models" && parts[3] == "artifacts":
		m, err := s.model(ctx, parts[2])
		if err != nil {
			return artifactTarget{}, err
		}
		return artifactTarget{runID: m.runID, dir: m.dir, rest: strings.Join(parts[4:], "/")}, nil
	}
	return artifactTarget{}, invalid("artifact path %q is not <experiment>/<run>/artifacts/<path> or <experiment>/models/<model>/artifacts/<path>", p)
}

func (s *Server) serveArtifacts(w http.ResponseWriter, r *http.Request, rest string) {
	var res any
	var err error
	switch {
	case rest == "artifacts" || rest == "artifacts/":
		res, err = s.listProxied(r)
	case strings.HasPrefix(rest, "artifacts/"):
		err = s.artifactFile(w, r, strings.TrimPrefix(rest, "artifacts/"))
		if err == nil {
			return
		}
	case strings.HasPrefix(rest, "mpu/"):
		res, err = s.multipart(w, r, strings.TrimPrefix(rest, "mpu/"))
		if err == nil && res == nil {
			return
		}
	default:
		err = errNotFoundEndpoint(r.URL.Path)
	}
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// artifactFile answers GET, PUT and DELETE of one artifact.
func (s *Server) artifactFile(w http.ResponseWriter, r *http.Request, escaped string) error {
	p, err := ArtifactPathFromURL(escaped)
	if err != nil {
		return invalid("%v", err)
	}
	ctx := r.Context()
	tg, err := s.target(ctx, p)
	if err != nil {
		return err
	}
	switch r.Method {
	case http.MethodGet:
		b, err := s.readArtifact(ctx, tg.runID, tg.path())
		if err != nil {
			return err
		}
		serveBytes(w, tg.path(), b)
		return nil
	case http.MethodPut:
		if err := s.upload(ctx, tg, r.Body); err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, struct{}{})
		return nil
	case http.MethodDelete:
		if err := s.removeArtifact(ctx, tg); err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, struct{}{})
		return nil
	}
	return &apiError{http.StatusMethodNotAllowed, "BAD_REQUEST", r.Method + " is not allowed on artifacts"}
}

// serveBytes sends an artifact as a download whose type the browser
// cannot take for a page of this server's.
func serveBytes(w http.ResponseWriter, name string, b []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": path.Base(name)}))
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	w.Write(b)
}

// upload stores the body as the artifact tg names, in its live run.
func (s *Server) upload(ctx context.Context, tg artifactTarget, body io.Reader) error {
	dest := tg.path()
	if tg.rest == "" {
		return invalid("an artifact upload needs a file name")
	}
	lr, err := s.liveRun(ctx, tg.runID)
	if err != nil {
		return err
	}
	if err := checkPlace(lr, dest); err != nil {
		return err
	}
	f, err := os.CreateTemp(s.o.TempDir, "gitruns-upload-*")
	if err != nil {
		return fmt.Errorf("store upload: %w", err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	n, err := io.Copy(f, io.LimitReader(body, s.o.MaxArtifact+1))
	if err != nil {
		return fmt.Errorf("read upload: %w", err)
	}
	if n > s.o.MaxArtifact {
		return invalid("artifact %q is larger than the server's limit of %s", dest, run.FormatSize(s.o.MaxArtifact))
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("store upload: %w", err)
	}
	defer s.wrote()
	return badValue(lr.LogArtifact(f.Name(), dest))
}

// checkPlace refuses an artifact at dest where a directory of artifacts
// is, or below a file: a run's artifacts are a tree.
func checkPlace(lr *live.Run, dest string) error {
	arts, err := lr.Artifacts()
	if err != nil {
		return err
	}
	for _, a := range arts {
		if strings.HasPrefix(a.Path, dest+"/") {
			return invalid("artifact path %q is a directory of the run's artifacts", dest)
		}
		if strings.HasPrefix(dest, a.Path+"/") {
			return invalid("artifact path %q lies below the file %q", dest, a.Path)
		}
	}
	return nil
}

func (s *Server) removeArtifact(ctx context.Context, tg artifactTarget) error {
	lr, err := s.liveRun(ctx, tg.runID)
	if err != nil {
		return err
	}
	defer s.wrote()
	return badValue(lr.RemoveArtifact(tg.path()))
}

// fileInfo is MLflow's FileInfo.
type fileInfo struct {
	Path     string `json:"path"`
	IsDir    bool   `json:"is_dir"`
	FileSize *int64 `json:"file_size,omitempty"`
}

// artifactList returns the files stored with run id, live or not.
func (s *Server) artifactList(ctx context.Context, id string) ([]run.ArtifactInfo, error) {
	ru, err := s.get(ctx, id)
	if err != nil {
		return nil, err
	}
	if arts, ok, err := s.liveArtifacts(ctx, ru.ID); ok || err != nil {
		if err != nil {
			return nil, err
		}
		out := make([]run.ArtifactInfo, 0, len(arts))
		for _, a := range arts {
			b, err := s.t.Blob(a.Blob)
			if err != nil {
				return nil, err
			}
			out = append(out, run.ArtifactInfo{Path: a.Path, Size: int64(len(b))})
		}
		return out, nil
	}
	return s.t.Artifacts(ctx, ru)
}

// liveArtifacts returns the artifacts of run id while it is hosted here,
// which its journal has and no commit yet; false when it is not hosted.
func (s *Server) liveArtifacts(ctx context.Context, id string) ([]run.Artifact, bool, error) {
	if !s.h.Live(id) {
		return nil, false, nil
	}
	lr, err := s.h.Run(ctx, id)
	if err != nil {
		return nil, false, err
	}
	arts, err := lr.Artifacts()
	return arts, true, err
}

// children lists what lies directly in directory dir of the files, with
// paths relative to the artifacts' top (full) or to dir.
func children(files []run.ArtifactInfo, dir string, full bool) []fileInfo {
	seen := map[string]bool{}
	out := []fileInfo{}
	prefix := ""
	if dir != "" {
		prefix = dir + "/"
	}
	for _, f := range files {
		rest, ok := strings.CutPrefix(f.Path, prefix)
		if !ok || rest == "" {
			continue
		}
		name, _, isDir := strings.Cut(rest, "/")
		if seen[name] {
			continue
		}
		seen[name] = true
		fi := fileInfo{Path: name, IsDir: isDir}
		if full {
			fi.Path = prefix + name
		}
		if !isDir {
			size := f.Size
			fi.FileSize = &size
		}
		out = append(out, fi)
	}
	slices.SortFunc(out, func(a, b fileInfo) int { return strings.Compare(a.Path, b.Path) })
	return out
}

// listProxied answers GET artifacts?path=<experiment>/<run>/artifacts/<dir>.
func (s *Server) listProxied(r *http.Request) (any, error) {
	p, err := CleanArtifactPath(r.URL.Query().Get("path"), true)
	if err != nil {
		return nil, invalid("%v", err)
	}
	ctx := r.Context()
	tg, err := s.target(ctx, p)
	if err != nil {
		return nil, err
	}
	files, err := s.artifactList(ctx, tg.runID)
	if err != nil {
		return nil, err
	}
	return map[string]any{"files": children(files, tg.path(), false)}, nil
}

type listArtifactsReq struct {
	RunID   string `json:"run_id"`
	RunUUID string `json:"run_uuid"`
	Path    string `json:"path"`
}

// listArtifacts answers artifacts/list, with paths from the top of the
// run's artifacts.
func listArtifacts(s *Server, r *http.Request) (any, error) {
	var req listArtifactsReq
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	id, err := runIDReq{req.RunID, req.RunUUID}.id()
	if err != nil {
		return nil, err
	}
	dir, err := CleanArtifactPath(req.Path, true)
	if err != nil {
		return nil, invalid("%v", err)
	}
	ctx := r.Context()
	ru, err := s.get(ctx, id)
	if err != nil {
		return nil, err
	}
	files, err := s.artifactList(ctx, ru.ID)
	if err != nil {
		return nil, err
	}
	exp := s.expIndex(ctx).idOf(ru.Record.Experiment)
	return map[string]any{"root_uri": artifactURI(exp, ru.ID), "files": children(files, dir, true)}, nil
}

// readArtifact returns the content of the artifact at p of run id.
func (s *Server) readArtifact(ctx context.Context, id, p string) ([]byte, error) {
	ru, err := s.get(ctx, id)
	if err != nil {
		return nil, err
	}
	if arts, ok, err := s.liveArtifacts(ctx, ru.ID); ok || err != nil {
		if err != nil {
			return nil, err
		}
		for _, a := range arts {
			if a.Path == p {
				return s.t.Blob(a.Blob)
			}
		}
		return nil, notFound("no artifact %q in run %s", p, ru.ID)
	}
	if ru.Commit == "" {
		return nil, notFound("no artifact %q in run %s", p, ru.ID)
	}
	rc, err := s.t.Store().OpenArtifact(ctx, ru.Commit, p)
	if errors.Is(err, run.ErrNotFound) {
		return nil, notFound("no artifact %q in run %s", p, ru.ID)
	}
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

// getArtifact answers the UI's /get-artifact?run_uuid=&path=.
func (s *Server) getArtifact(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	id := q.Get("run_id")
	if id == "" {
		id = q.Get("run_uuid")
	}
	p, err := CleanArtifactPath(q.Get("path"), false)
	if err != nil {
		writeError(w, invalid("%v", err))
		return
	}
	b, err := s.readArtifact(r.Context(), id, p)
	if err != nil {
		writeError(w, err)
		return
	}
	serveBytes(w, p, b)
}

// Multipart uploads (mpu/create, the parts, mpu/complete, mpu/abort): the
// parts wait in temporary files until the upload completes.

type mpuTable struct {
	mu      sync.Mutex
	uploads map[string]*mpu
}

type mpu struct {
	target artifactTarget
	dir    string
	parts  int
}

type mpuCreateReq struct {
	Path     string `json:"path"`
	NumParts i64    `json:"num_parts"`
}

type mpuPart struct {
	PartNumber int64  `json:"part_number"`
	Etag       string `json:"etag"`
	URL        string `json:"url,omitempty"`
}

type mpuCompleteReq struct {
	Path     string    `json:"path"`
	UploadID string    `json:"upload_id"`
	Parts    []mpuPart `json:"parts"`
}

// maxParts bounds the parts of one multipart upload.
const maxParts = 10000

func (s *Server) multipart(w http.ResponseWriter, r *http.Request, rest string) (any, error) {
	op, escaped, _ := strings.Cut(rest, "/")
	if op == "part" {
		return nil, s.mpuPut(w, r, escaped)
	}
	if r.Method != http.MethodPost {
		return nil, &apiError{http.StatusMethodNotAllowed, "BAD_REQUEST", r.Method + " is not allowed on " + r.URL.Path}
	}
	p, err := ArtifactPathFromURL(escaped)
	if err != nil {
		return nil, invalid("%v", err)
	}
	ctx := r.Context()
	tg, err := s.target(ctx, p)
	if err != nil {
		return nil, err
	}
	switch op {
	case "create":
		var req mpuCreateReq
		if err := decode(r, &req); err != nil {
			return nil, err
		}
		return s.mpuCreate(ctx, r, tg, int(req.NumParts.V))
	case "complete":
		var req mpuCompleteReq
		if err := decode(r, &req); err != nil {
			return nil, err
		}
		return struct{}{}, s.mpuComplete(ctx, tg, req)
	case "abort":
		var req mpuCompleteReq
		if err := decode(r, &req); err != nil {
			return nil, err
		}
		s.mpuDrop(req.UploadID)
		return struct{}{}, nil
	}
	return nil, errNotFoundEndpoint(r.URL.Path)
}

func (s *Server) mpuCreate(ctx context.Context, r *http.Request, tg artifactTarget, parts int) (any, error) {
	if parts <= 0 || parts > maxParts {
		return nil, invalid("num_parts must be between 1 and %d", maxParts)
	}
	if tg.rest == "" {
		return nil, invalid("an artifact upload needs a file name")
	}
	if _, err := s.liveRun(ctx, tg.runID); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(s.o.TempDir, "gitruns-mpu-*")
	if err != nil {
		return nil, fmt.Errorf("start upload: %w", err)
	}
	var b [16]byte
	rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	s.mpus.mu.Lock()
	if s.mpus.uploads == nil {
		s.mpus.uploads = map[string]*mpu{}
	}
	s.mpus.uploads[id] = &mpu{target: tg, dir: dir, parts: parts}
	s.mpus.mu.Unlock()
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	creds := make([]map[string]any, parts)
	for i := range creds {
		url := fmt.Sprintf("%s://%s%smpu/part/%s/%d", scheme, r.Host, artifactPrefixes[0], id, i+1)
		creds[i] = map[string]any{"part_number": i + 1, "url": url, "headers": map[string]string{}}
	}
	return map[string]any{"upload_id": id, "credentials": creds}, nil
}

// mpuPut stores one part: PUT mpu/part/<upload>/<number>.
func (s *Server) mpuPut(w http.ResponseWriter, r *http.Request, rest string) error {
	id, num, _ := strings.Cut(rest, "/")
	n, err := strconv.Atoi(num)
	s.mpus.mu.Lock()
	up := s.mpus.uploads[id]
	s.mpus.mu.Unlock()
	if up == nil {
		return notFound("no upload %q", id)
	}
	if err != nil || n < 1 || n > up.parts || r.Method != http.MethodPut {
		return invalid("invalid part %q of upload %s", num, id)
	}
	f, err := os.Create(filepath.Join(up.dir, strconv.Itoa(n)))
	if err != nil {
		return fmt.Errorf("store part: %w", err)
	}
	defer f.Close()
	if _, err := io.Copy(f, io.LimitReader(r.Body, s.o.MaxArtifact+1)); err != nil {
		return fmt.Errorf("store part: %w", err)
	}
	w.Header().Set("ETag", `"`+id+"-"+num+`"`)
	writeJSON(w, http.StatusOK, struct{}{})
	return nil
}

func (s *Server) mpuComplete(ctx context.Context, tg artifactTarget, req mpuCompleteReq) error {
	s.mpus.mu.Lock()
	up := s.mpus.uploads[req.UploadID]
	s.mpus.mu.Unlock()
	if up == nil {
		return notFound("no upload %q", req.UploadID)
	}
	if up.target != tg {
		return invalid("upload %s is of another artifact", req.UploadID)
	}
	defer s.mpuDrop(req.UploadID)
	var files []io.Reader
	for i := 1; i <= up.parts; i++ {
		f, err := os.Open(filepath.Join(up.dir, strconv.Itoa(i)))
		if err != nil {
			return invalid("upload %s lacks part %d", req.UploadID, i)
		}
		defer f.Close()
		files = append(files, f)
	}
	return s.upload(ctx, tg, io.MultiReader(files...))
}

func (s *Server) mpuDrop(id string) {
	s.mpus.mu.Lock()
	up := s.mpus.uploads[id]
	delete(s.mpus.uploads, id)
	s.mpus.mu.Unlock()
	if up != nil {
		os.RemoveAll(up.dir)
	}
}
