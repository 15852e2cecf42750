// Package memstore keeps runs in memory: a Store for tests, examples and
// programs that want the tracker's logic without a repository. It keeps
// the same contract as gitstore, checked by the same suite (run/storetest),
// so that whatever passes against it means the same against git.
//
// Runs recorded into it still keep their journals in a directory of
// files, as every live run does, so that several processes could meet in
// them; nothing else touches the disk.
package memstore

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/gitruns/gitruns/run"
	"github.com/gitruns/gitruns/run/codec"
)

// Store is an in-memory store of runs. Its methods are safe for
// concurrent use.
type Store struct {
	// Source is what CaptureSource returns: the code every run started
	// on this store ran.
	Source run.Source

	dir string

	mu      sync.Mutex
	refs    map[string]string  // run id -> commit
	commits map[string]*commit // by commit id
	blobs   map[string][]byte  // by blob id
	marks   map[string]string  // fetched runs -> remote
	removed map[string]bool    // every run Delete removed
	from    map[string]string  // every run ever marked fetched -> remote
	seq     int

	exps map[string]string // experiment id -> commit
	// expText holds experiment.toml of each experiment commit, so that a
	// reader never shares memory with a writer.
	expText map[string][]byte
}

// commit is one stored state of a run.
type commit struct {
	record  []byte // run.toml, so that a reader never shares memory with a writer
	history []byte // metrics.tsv
	output  []byte // nil when none
	arts    []run.Artifact
	earlier string // the commit this one extends (Extend), "" for none
}

// New returns an empty store whose live runs keep their journals in dir.
func New(dir string) *Store {
	return &Store{
		dir:     dir,
		refs:    map[string]string{},
		commits: map[string]*commit{},
		blobs:   map[string][]byte{},
		marks:   map[string]string{},
		removed: map[string]bool{},
	}
}

// LiveDir is where runs being recorded keep their journals.
func (s *Store) LiveDir() string { return s.dir }

// CaptureSource returns s.Source.
func (s *Store) CaptureSource(ctx context.Context) (run.Source, error) {
	if err := ctx.Err(); err != nil {
		return run.Source{}, err
	}
	src := s.Source
	src.Skipped = slices.Clone(src.Skipped)
	return src, nil
}

// Author is who records runs into the store: nobody in particular.
func (s *Store) Author() run.Person { return run.Person{Name: "memstore", Email: "memstore@localhost"} }

// StoreFile keeps the content of the file at path and returns its id.
func (s *Store) StoreFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("store file: %w", err)
	}
	id := objectID("blob", b)
	s.mu.Lock()
	s.blobs[id] = b
	s.mu.Unlock()
	return id, nil
}

// objectID names content the way git names a blob, so that ids look and
// compare like the git store's.
func objectID(kind string, b []byte) string {
	h := sha1.New()
	h.Write([]byte(kind + " " + strconv.Itoa(len(b)) + "\x00"))
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil))
}

// Save stores c as the new state of its run if the run is at old ("" for
// none yet): run.ErrConflict when it is elsewhere, run.ErrNotFound when
// old is set and the run was deleted.
func (s *Store) Save(c *run.Contents, old string) (string, error) {
	id := c.Record.ID
	if !run.ValidID(id) {
		return "", fmt.Errorf("save run: invalid id %q", id)
	}
	cm, err := s.encode(c)
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, exists := s.refs[id]
	switch {
	case old == "" && exists:
		return "", fmt.Errorf("save run %s: %w: exists at %s", id, run.ErrConflict, cur)
	case old != "" && !exists:
		return "", run.NotFound("no run %s: it was deleted", id)
	case cur != old:
		return "", fmt.Errorf("save run %s: %w: is at %s, expected %s", id, run.ErrConflict, cur, old)
	}
	s.seq++
	cid := objectID("commit", append(slices.Clone(cm.record), strconv.Itoa(s.seq)...))
	s.commits[cid] = cm
	s.refs[id] = cid
	return cid, nil
}

// encode turns c into what the store keeps, checking its artifacts are
// stored.
func (s *Store) encode(c *run.Contents) (*commit, error) {
	rec, err := codec.EncodeTOML(c.Record)
	if err != nil {
		return nil, err
	}
	cm := &commit{record: rec, history: codec.EncodeHistory(c.History), arts: slices.Clone(c.Artifacts)}
	if c.Output != nil {
		if cm.output, err = c.Output(); err != nil {
			return nil, fmt.Errorf("read output: %w", err)
		}
		if cm.output == nil {
			cm.output = []byte{}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range cm.arts {
		if _, ok := s.blobs[a.Blob]; !ok {
			return nil, fmt.Errorf("save run %s: artifact %s: %w", c.Record.ID, a.Path, run.NotFound("no blob %s", a.Blob))
		}
	}
	return cm, nil
}

// Head returns the commit run id is at.
func (s *Store) Head(id string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.refs[id]
	if !ok {
		return "", run.NotFound("no run %s", id)
	}
	return c, nil
}

// List returns every run, newest first.
func (s *Store) List(ctx context.Context) ([]run.Entry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := slices.Sorted(maps.Keys(s.refs))
	slices.Reverse(ids)
	out := make([]run.Entry, len(ids))
	for i, id := range ids {
		c := s.refs[id]
		out[i] = run.Entry{ID: id, Commit: c}
		out[i].Record, out[i].Err = codec.DecodeTOML(s.commits[c].record)
	}
	return out, nil
}

// Load returns run id's commit and record.
func (s *Store) Load(ctx context.Context, id string) (run.Entry, error) {
	s.mu.Lock()
	c, ok := s.refs[id]
	var text []byte
	if ok {
		text = s.commits[c].record
	}
	s.mu.Unlock()
	if !ok {
		return run.Entry{}, run.NotFound("no run %s", id)
	}
	rec, err := codec.DecodeTOML(text)
	if err != nil {
		return run.Entry{}, err
	}
	return run.Entry{ID: id, Commit: c, Record: rec}, nil
}

func (s *Store) commit(c string) (*commit, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cm, ok := s.commits[c]
	if !ok {
		return nil, run.NotFound("no commit %s", c)
	}
	return cm, nil
}

// RecordAt returns the record stored in commit c.
func (s *Store) RecordAt(ctx context.Context, c string) (*run.Record, error) {
	cm, err := s.commit(c)
	if err != nil {
		return nil, err
	}
	return codec.DecodeTOML(cm.record)
}

// History returns the metric histories stored in commit c.
func (s *Store) History(ctx context.Context, c string) (run.History, error) {
	cm, err := s.commit(c)
	if err != nil {
		return nil, err
	}
	return codec.DecodeHistory(cm.history)
}

// Output returns the output log stored in commit c; nil when none.
func (s *Store) Output(ctx context.Context, c string) ([]byte, error) {
	cm, err := s.commit(c)
	if err != nil {
		return nil, err
	}
	return bytes.Clone(cm.output), nil
}

// Artifacts lists the files stored with commit c, by path.
func (s *Store) Artifacts(ctx context.Context, c string) ([]run.ArtifactInfo, error) {
	cm, err := s.commit(c)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]run.ArtifactInfo, len(cm.arts))
	for i, a := range cm.arts {
		out[i] = run.ArtifactInfo{Path: a.Path, Size: int64(len(s.blobs[a.Blob]))}
	}
	slices.SortFunc(out, func(a, b run.ArtifactInfo) int { return strings.Compare(a.Path, b.Path) })
	return out, nil
}

// OpenArtifact opens the file at path below artifacts/ of commit c.
func (s *Store) OpenArtifact(ctx context.Context, c, path string) (io.ReadCloser, error) {
	clean, err := run.CleanArtifactPath(path)
	if err != nil {
		return nil, err
	}
	cm, err := s.commit(c)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range cm.arts {
		if a.Path == clean {
			return io.NopCloser(bytes.NewReader(s.blobs[a.Blob])), nil
		}
	}
	return nil, run.NotFound("no artifact %s in %s", clean, c)
}

// Amend rewrites run id's record with edit, refusing a running run with
// run.ErrLive.
func (s *Store) Amend(id string, edit func(*run.Record) error) error {
	for {
		en, err := s.Load(context.Background(), id)
		if err != nil {
			return err
		}
		if en.Record.Status == run.Running {
			return fmt.Errorf("amend run %s: %w", id, run.ErrLive)
		}
		if err := edit(en.Record); err != nil {
			return err
		}
		text, err := codec.EncodeTOML(en.Record)
		if err != nil {
			return err
		}
		s.mu.Lock()
		if s.refs[id] != en.Commit {
			s.mu.Unlock()
			continue // moved meanwhile: edit again what is there now
		}
		old := s.commits[en.Commit]
		s.seq++
		cid := objectID("commit", append(slices.Clone(text), strconv.Itoa(s.seq)...))
		s.commits[cid] = &commit{record: text, history: old.history, output: old.output, arts: old.arts, earlier: old.earlier}
		s.refs[id] = cid
		s.mu.Unlock()
		return nil
	}
}

// Extend writes a new commit of run id, which has ended, with edit's
// changes on top of the one it is at, refusing a running run with
// run.ErrLive.
func (s *Store) Extend(ctx context.Context, id string, edit func(*run.Contents) error) (string, error) {
	for {
		en, err := s.Load(ctx, id)
		if err != nil {
			return "", err
		}
		if en.Record.Status == run.Running {
			return "", fmt.Errorf("extend run %s: %w", id, run.ErrLive)
		}
		old, err := s.commit(en.Commit)
		if err != nil {
			return "", err
		}
		h, err := codec.DecodeHistory(old.history)
		if err != nil {
			return "", err
		}
		src := en.Record.Source
		c := &run.Contents{Record: en.Record, History: h, Artifacts: slices.Clone(old.arts)}
		if err := edit(c); err != nil {
			return "", err
		}
		switch {
		case c.Record.ID != id:
			return "", fmt.Errorf("extend run %s: the edit changed its id to %q", id, c.Record.ID)
		case c.Record.Status == run.Running || !c.Record.Status.Valid():
			return "", fmt.Errorf("extend run %s: the edit left it %q, not ended", id, c.Record.Status)
		}
		c.Record.Source = src
		c.Output = nil
		cm, err := s.encode(c)
		if err != nil {
			return "", err
		}
		cm.output, cm.earlier = old.output, en.Commit
		s.mu.Lock()
		if s.refs[id] != en.Commit {
			s.mu.Unlock()
			continue // moved meanwhile: edit again what is there now
		}
		s.seq++
		cid := objectID("commit", append(slices.Clone(cm.record), strconv.Itoa(s.seq)...))
		s.commits[cid] = cm
		s.refs[id] = cid
		s.mu.Unlock()
		return cid, nil
	}
}

// Earlier returns the commit that commit c extends, "" for none.
func (s *Store) Earlier(ctx context.Context, c string) (string, error) {
	cm, err := s.commit(c)
	if err != nil {
		return "", err
	}
	return cm.earlier, nil
}

// Delete removes run id if it is at old ("" for any).
func (s *Store) Delete(id, old string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, ok := s.refs[id]
	switch {
	case !ok:
		return run.NotFound("no run %s", id)
	case old != "" && cur != old:
		return fmt.Errorf("delete run %s: %w: is at %s, expected %s", id, run.ErrConflict, cur, old)
	}
	delete(s.refs, id)
	s.removed[id] = true
	return nil
}

// Removed returns the ids of the runs Delete removed, as
// importer.Removals says.
func (s *Store) Removed() ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Collect(maps.Keys(s.removed)), nil
}

// MarksOf returns the marks of run id.
func (s *Store) MarksOf(id string) (fetchedFrom, cameFrom string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.marks[id], s.from[id]
}

// AllMarks returns MarksOf as the marks are now.
func (s *Store) AllMarks() func(id string) (fetchedFrom, cameFrom string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	marks, from := maps.Clone(s.marks), maps.Clone(s.from)
	return func(id string) (string, string) { return marks[id], from[id] }
}

// MarkFetched marks runs as fetched from remote; an empty remote clears
// their marks, as MarkSeen does.
func (s *Store) MarkFetched(remote string, ids []string) error {
	if remote == "" {
		return s.MarkSeen(ids...)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.from == nil {
		s.from = map[string]string{}
	}
	for _, id := range ids {
		s.marks[id] = remote
		s.from[id] = remote
	}
	return nil
}

// MarkSeen clears the fetched marks of runs.
func (s *Store) MarkSeen(ids ...string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range ids {
		delete(s.marks, id)
	}
	return nil
}
