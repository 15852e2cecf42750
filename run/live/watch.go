package live

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"

	"github.com/gitruns/gitruns/run"
)

// Watcher follows a live run from outside: each Poll reads what the
// run's writers appended to its journal since the last one.
type Watcher struct {
	store Store
	id    string
	path  string
	st    *state
	off   int64
}

// Watch starts following run id.
func Watch(s Store, id string) *Watcher {
	return &Watcher{store: s, id: id, path: journalPath(s, id), st: newState()}
}

// Poll returns the run's record as of everything logged so far, and
// whether the run still lives here. Once it has ended, the record is the
// committed one.
func (w *Watcher) Poll() (*run.Record, bool, error) {
	f, err := os.Open(w.path)
	if errors.Is(err, fs.ErrNotExist) {
		_, rec, err := w.store.Load(w.id)
		return rec, false, err
	}
	if err != nil {
		return nil, false, fmt.Errorf("read journal: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.NewSectionReader(f, w.off, math.MaxInt64-w.off))
	if err != nil {
		return nil, false, fmt.Errorf("read journal: %w", err)
	}
	w.off += int64(w.st.replay(data))
	if !w.st.started {
		return nil, true, nil
	}
	return w.st.record(), true, nil
}

// History returns the metric histories replayed so far.
func (w *Watcher) History() run.History { return w.st.history() }

// OutputPrefix names the files that keep the run's output while it lives,
// or "" when it keeps none.
func (w *Watcher) OutputPrefix() string {
	if !w.st.output {
		return ""
	}
	return outputPrefix(w.path)
}
