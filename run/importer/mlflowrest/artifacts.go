package mlflowrest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"time"

	"github.com/gitruns/gitruns/run"
	"github.com/gitruns/gitruns/run/importer"
)

// maxDepth bounds how deep the artifact directories of a run are
// listed.
const maxDepth = 64

type fileJSON struct {
	Path     string `json:"path"`
	IsDir    bool   `json:"is_dir"`
	FileSize i64    `json:"file_size"`
}

// artifacts lists the artifact files of r and downloads those within
// the limit into a directory of r's own. A path that is not below the
// directory listed, or that could escape the artifacts, fails the run;
// a file that cannot be downloaded is a problem of the run.
func (s *Source) artifacts(ctx context.Context, r *importer.Run) error {
	files, err := s.listArtifacts(ctx, r.ID)
	if err != nil {
		return fmt.Errorf("artifacts: %w", err)
	}
	if len(files) == 0 {
		return nil
	}
	if s.c.o.ListOnly {
		for _, f := range files {
			r.Artifacts = append(r.Artifacts, importer.Artifact{Path: f.Path, Size: f.FileSize.V})
		}
		return nil
	}
	dir, err := os.MkdirTemp(s.tmp, "run-*")
	if err != nil {
		return fmt.Errorf("make a directory for the run's artifacts: %w", err)
	}
	s.mu.Lock()
	s.dirs[r] = dir
	s.mu.Unlock()
	for i, f := range files {
		a := importer.Artifact{Path: f.Path, Size: f.FileSize.V}
		if a.Size <= s.c.o.MaxArtifact {
			// Named by number: the server's path names nothing on disk.
			a.File = filepath.Join(dir, strconv.Itoa(i))
			n, err := s.download(ctx, r.ID, f, a.File)
			if err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				if _, hostile := err.(refusal); hostile {
					return fmt.Errorf("artifact %q: %w", f.Path, err)
				}
				r.Problems = append(r.Problems, importer.Problem{Where: r.Where, Err: fmt.Errorf("artifact %q left out: %w", f.Path, err)})
				continue
			}
			a.Size = n
		}
		r.Artifacts = append(r.Artifacts, a)
	}
	return nil
}

// refusal is an answer no honest server sends: the run is not imported.
type refusal struct{ error }

// listArtifacts lists every artifact file of run id, walking its
// directories, with paths checked and cleaned.
func (s *Source) listArtifacts(ctx context.Context, id string) ([]fileJSON, error) {
	var out []fileJSON
	seen := map[string]bool{}
	var walk func(dir string, depth int) error
	walk = func(dir string, depth int) error {
		if depth > maxDepth {
			return refusal{fmt.Errorf("directories deeper than %d", maxDepth)}
		}
		return s.pages(func(tok string) (string, error) {
			q := url.Values{"run_id": {id}, "run_uuid": {id}}
			if dir != "" {
				q.Set("path", dir)
			}
			if tok != "" {
				q.Set("page_token", tok)
			}
			var resp struct {
				Files []fileJSON `json:"files"`
				Next  string     `json:"next_page_token"`
			}
			if err := s.c.api(ctx, "GET", "artifacts/list", q, nil, &resp); err != nil {
				return "", err
			}
			for _, f := range resp.Files {
				p, err := childPath(dir, f.Path)
				if err != nil {
					return "", err
				}
				if seen[p] {
					continue
				}
				seen[p] = true
				f.Path = p
				if f.IsDir {
					if err := walk(p, depth+1); err != nil {
						return "", err
					}
					continue
				}
				if f.FileSize.V < 0 {
					return "", refusal{fmt.Errorf("artifact %q: size %d", p, f.FileSize.V)}
				}
				out = append(out, f)
				if len(out) > run.MaxArtifacts {
					return "", refusal{fmt.Errorf("more than %d artifact files", run.MaxArtifacts)}
				}
			}
			return resp.Next, nil
		})
	}
	return out, walk("", 0)
}

// childPath checks p, a path artifacts/list answered for directory dir:
// a clean relative path below dir, that no ".." or ".git" part makes
// escape the run's artifacts.
func childPath(dir, p string) (string, error) {
	c, err := run.CleanArtifactPath(p)
	if err != nil {
		return "", refusal{fmt.Errorf("the server sent %v", err)}
	}
	if c != p && c+"/" != p {
		return "", refusal{fmt.Errorf("the server sent artifact path %q, which is not clean", oneLine(clip(p, 200)))}
	}
	if parent := path.Dir(c); parent != dir && !(dir == "" && parent == ".") {
		return "", refusal{fmt.Errorf("the server listed %q in directory %q", oneLine(clip(p, 200)), dir)}
	}
	return c, nil
}

// download reads artifact f of run id into file dest, and returns its
// size: no more than the listing said.
func (s *Source) download(ctx context.Context, id string, f fileJSON, dest string) (int64, error) {
	limit := f.FileSize.V
	if !f.FileSize.Set {
		limit = s.c.o.MaxArtifact
	}
	// As long again as a call for each MiB a second of it.
	timeout := s.c.o.Timeout + time.Duration(limit>>20)*time.Second
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	resp, err := s.c.do(ctx, "GET", "/get-artifact", url.Values{"path": {f.Path}, "run_uuid": {id}, "run_id": {id}}, nil)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := readCapped(resp.Body, 64<<10)
		return 0, errorOf(resp.StatusCode, body)
	}
	if resp.ContentLength > limit {
		return 0, refusal{fmt.Errorf("the server sends %d bytes of a file listed as %d", resp.ContentLength, limit)}
	}
	out, err := os.OpenFile(dest, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(out, io.LimitReader(resp.Body, limit+1))
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	switch {
	case err != nil:
		return 0, fmt.Errorf("download: %w", err)
	case n > limit:
		return 0, refusal{fmt.Errorf("the server sent more than the %d bytes listed", limit)}
	case f.FileSize.Set && n != limit:
		return 0, fmt.Errorf("download: %d bytes of %d", n, limit)
	}
	return n, nil
}
