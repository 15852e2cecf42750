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
	path string
	st   *state
	off  int64
}

// Watch starts following run id.
func (rc Recorder) Watch(id string) *Watcher {
	return &Watcher{path: rc.journalPath(id), st: newState()}
}

// Poll returns the run's record as of everything logged so far, and
// whether the run still lives here. Once its journal is gone (the run
// ended, or was deleted) live is false and the record is nil: the
// store has what became of it.
func (w *Watcher) Poll() (rec *run.Record, live bool, err error) {
	f, err := os.Open(w.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
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
