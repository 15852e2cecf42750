package tracker

import (
	"context"
	"time"

	"github.com/gitruns/gitruns/run"
	"github.com/gitruns/gitruns/run/outlog"
)

// Event is what Follow reports of a run being recorded.
type Event struct {
	// Output is what the command printed since the last event.
	Output []byte
	// Line is the state of the line the command is redrawing (a
	// progress bar), as of its last \r, which is not part of Output
	// until the line ends: nil when there is none. The next Output
	// starts with the line's final state, in its place.
	Line []byte
	// Skipped counts bytes of output that went by before they could be
	// read (the output log keeps only the head and tail of long output).
	Skipped int64
	// Record is the run as of now; nil until its journal has a start.
	Record *run.Record
	// Ended tells that the run has ended, or was deleted when Record is
	// nil: this is the last event.
	Ended bool
}

// Follow reports what run r prints and logs while it is recorded on this
// machine, every interval, until it ends or ctx is done. f's error stops
// it and is returned.
func (t *Tracker) Follow(ctx context.Context, r Run, interval time.Duration, f func(Event) error) error {
	w := t.recorder.Watch(r.ID)
	var shown int64
	for {
		rec, live, err := w.Poll()
		if err != nil {
			return err
		}
		ev := Event{Record: rec}
		if prefix := w.OutputPrefix(); live && prefix != "" {
			if data, from, next, err := outlog.ReadFrom(prefix, shown); err == nil {
				ev.Output, ev.Skipped, shown = data, max(0, from-shown), next
			}
			if line, at, err := outlog.ReadLine(prefix); err == nil && at == shown {
				ev.Line = line
			}
		}
		if !live {
			ev.Ended = true
			ev.Record, ev.Output = t.ended(ctx, r.ID, shown)
		}
		if err := f(ev); err != nil || ev.Ended {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(interval):
		}
	}
}

// ended returns the committed record of a run whose journal is gone, and
// its output after byte offset off; nil when the run is gone too.
func (t *Tracker) ended(ctx context.Context, id string, off int64) (*run.Record, []byte) {
	en, err := t.store.Load(ctx, id)
	if err != nil {
		return nil, nil
	}
	log, err := t.store.Output(ctx, en.Commit)
	if err != nil || log == nil {
		return en.Record, nil
	}
	rest, _ := outlog.Since(log, off)
	return en.Record, rest
}
