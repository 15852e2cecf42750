package importer

import (
	"crypto/sha256"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gitruns/gitruns/run"
	"github.com/gitruns/gitruns/run/live"
	"github.com/gitruns/gitruns/run/mlflowtags"
)

// Tags that an import writes of its own, besides mlflowtags.RunID.
const (
	// TagArtifactURI is where the source kept the run's artifacts.
	TagArtifactURI = "mlflow.artifactUri"
	// TagNotCopied lists the artifacts left at the source because they
	// are larger than the import's limit: one line each, "SIZE PATH",
	// the size in bytes and the path below TagArtifactURI.
	TagNotCopied = "mlflow.import.notCopied"
	// TagParentElsewhere is the source's id of the parent of a nested run
	// whose parent is not imported (it was deleted at the source and left
	// out): an import that brings the parent sets mlflowtags.Parent.
	TagParentElsewhere = "mlflow.import.parentRunId"
)

// maxPoints bounds the points of one imported run, to stay below what
// run.MaxHistorySize lets a reader take back (some five million).
const maxPoints = 4_000_000

// mapping is what an import knows beyond one run: the git-runs id of
// every source run it imports or imported, for parents, and which
// commits the repository has.
type mapping struct {
	ids       map[string]string // source id to git-runs id
	idTag     string            // the tag of the source's id: Source.IDTag
	hasCommit func(string) bool
}

// converted is a source run as a record holds it.
type converted struct {
	rec       *run.Record
	history   run.History
	artifacts []Artifact // to store: within the limit
	notCopied []Artifact
	output    string // the file of the run's output, "" when none
	points    int
	problems  []Problem
}

// convert maps source run r to the record of git-runs run id: names,
// times, params typed, tags with MLflow's system tags mapped as git runs
// serve maps them, histories, and which artifacts to copy. What cannot
// be represented is a problem, and left out.
func convert(r *Run, id string, m mapping, maxArtifact int64, now time.Time) *converted {
	c := &converted{problems: slices.Clone(r.Problems)}
	bad := func(format string, args ...any) {
		c.problems = append(c.problems, Problem{Where: r.Where, Err: fmt.Errorf(format, args...), Experiment: r.ExperimentID})
	}
	rec := &run.Record{
		Format: run.Format, ID: id, Name: runName(r), Experiment: experimentName(r.Ref),
		Status: r.Status, Started: r.Start.UTC().Truncate(time.Millisecond),
		Updated: now, Host: run.Host{User: r.User},
		Params: map[string]any{}, Tags: map[string]string{}, Metrics: map[string]run.Summary{},
	}
	c.rec = rec
	for _, k := range slices.Sorted(maps.Keys(r.Params)) {
		v, err := param(k, r.Params[k])
		if err == nil {
			err = run.CheckParamShape(rec.Params, k)
		}
		if err != nil {
			bad("param left out: %v", err)
			continue
		}
		rec.Params[k] = v
	}
	tags, errs := mapTags(r, m)
	for _, err := range errs {
		bad("tag left out: %v", err)
	}
	rec.Tags = tags
	if commit := r.Tags[mlflowtags.Commit]; run.ValidObjectID(commit) && m.hasCommit != nil && m.hasCommit(commit) {
		rec.Source.Commit = commit
	}
	c.history = run.History{}
	var last int64
	for _, k := range slices.Sorted(maps.Keys(r.Metrics)) {
		pts := r.Metrics[k]
		if len(pts) == 0 {
			continue
		}
		if err := run.ValidateKey("metric", k); err != nil {
			bad("metric left out: %v", err)
			continue
		}
		if c.points+len(pts) > maxPoints {
			bad("metric %q left out: the run has more than %d points", k, maxPoints)
			continue
		}
		c.points += len(pts)
		c.history[k] = pts
		rec.Metrics[k] = run.Summarize(pts)
		for _, p := range pts {
			last = max(last, p.Time)
		}
	}
	rec.Ended = endTime(r, last)
	c.output = r.Output
	for _, a := range r.Artifacts {
		switch {
		case a.Size > maxArtifact:
			c.notCopied = append(c.notCopied, a)
		case len(c.artifacts) >= run.MaxArtifacts:
			bad("artifact %q left out: more than %d artifacts", a.Path, run.MaxArtifacts)
		default:
			c.artifacts = append(c.artifacts, a)
		}
	}
	if r.ArtifactURI != "" && utf8.ValidString(r.ArtifactURI) && len(r.ArtifactURI) <= run.MaxStringLen {
		rec.Tags[TagArtifactURI] = r.ArtifactURI
	}
	if len(c.notCopied) > 0 {
		rec.Tags[TagNotCopied] = notCopiedList(c.notCopied)
	}
	return c
}

// runID is the git-runs id an import gives the run of source id srcID,
// kept in tag idTag, that started at start: the time of its start, as
// every id starts, then 80 bits of a SHA-256 of the tag and the source
// id. A run thus has the same id whenever and wherever it is imported,
// and a tombstone, which names a run by its id alone, tells that the
// run imported from srcID was removed (see importer.ids).
func runID(idTag, srcID string, start time.Time) string {
	sum := sha256.Sum256([]byte(idTag + "\x00" + srcID))
	return run.IDAt(start, [10]byte(sum[:10]))
}

// idSeed is the part of id after its time: what runID makes of the
// source id alone. Removals are matched by it, so that a source that
// tells a run's start differently from one read to the next (W&B's,
// from its metadata or, when that is unreadable, its directory's name)
// still finds the run's tombstone.
func idSeed(id string) string {
	if len(id) < 10 {
		return id
	}
	return id[10:]
}

// runName is the source's name of r when it is a valid run name, else a
// new one.
func runName(r *Run) string {
	n := r.Name
	if n == "" {
		n = r.Tags[mlflowtags.RunName]
	}
	if run.ValidateName(n) != nil {
		return run.NewName()
	}
	return n
}

// experimentName is the name a record gives the experiment of ref:
// MLflow's Default experiment is git-runs' default one.
func experimentName(ref Ref) string {
	n := ref.Experiment
	if ref.ExperimentID == run.DefaultExperimentID && n == run.DefaultExperimentName || n == "" {
		return run.DefaultRecordExperiment
	}
	if run.ValidateExperimentName(n) != nil {
		n = "mlflow-" + ref.ExperimentID
		if run.ValidateExperimentName(n) != nil {
			return run.DefaultRecordExperiment
		}
	}
	return n
}

// endTime is when r ended: the source's end, else its last metric point,
// never before its start.
func endTime(r *Run, lastPoint int64) time.Time {
	end := r.End
	if end.IsZero() && lastPoint > 0 {
		end = time.UnixMilli(lastPoint)
	}
	if end.Before(r.Start) {
		end = r.Start
	}
	return end.UTC().Truncate(time.Millisecond)
}

// param types the text v of param k as git runs serve does, redacted as
// every recorded param is.
func param(k, v string) (any, error) {
	if err := run.ValidateKey("param", k); err != nil {
		return nil, err
	}
	if !utf8.ValidString(v) {
		return nil, fmt.Errorf("param %q: value is not valid UTF-8", k)
	}
	if len(v) > run.MaxStringLen {
		return nil, fmt.Errorf("param %q: value longer than %d bytes", k, run.MaxStringLen)
	}
	return live.RedactParam(k, mlflowtags.ParamValue(v)), nil
}

// mapTags is the tags of the record of r: the source's, redacted, but
// the run name (the record's Name) and git-runs' own (gitruns.*, which a
// source does not set), the parent named by its git-runs id, the
// source's id of the run, and the deletion mark of a deleted run.
func mapTags(r *Run, m mapping) (map[string]string, []error) {
	tags := map[string]string{}
	var errs []error
	for _, k := range slices.Sorted(maps.Keys(r.Tags)) {
		v := r.Tags[k]
		switch {
		case k == mlflowtags.RunName || strings.HasPrefix(k, "gitruns.") || k == mlflowtags.RunID || k == m.idTag:
			continue
		case k == mlflowtags.Parent:
			continue // below, from the Ref
		}
		if err := run.ValidateKey("tag", k); err != nil {
			errs = append(errs, err)
			continue
		}
		if err := run.ValidateTagValue(k, v); err != nil {
			errs = append(errs, err)
			continue
		}
		tags[k] = live.RedactTag(k, v)
	}
	if r.Parent != "" {
		if p, ok := m.ids[r.Parent]; ok {
			tags[mlflowtags.Parent] = p
		} else {
			// Deleted and left out, say: named by its source id until
			// an import brings it.
			tags[TagParentElsewhere] = r.Parent
		}
	}
	tags[m.idTag] = r.ID
	if r.Deleted {
		at := r.DeletedAt
		if at.IsZero() {
			at = r.End
		}
		tags[run.DeletedTag] = at.UTC().Truncate(time.Millisecond).Format(time.RFC3339Nano)
	}
	return tags, errs
}

// notCopiedList is the value of TagNotCopied for arts.
func notCopiedList(arts []Artifact) string {
	var b strings.Builder
	for i, a := range arts {
		line := strconv.FormatInt(a.Size, 10) + " " + a.Path
		if b.Len()+len(line)+1 > run.MaxStringLen-64 {
			fmt.Fprintf(&b, "\n... and %d more", len(arts)-i)
			break
		}
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(line)
	}
	return b.String()
}
