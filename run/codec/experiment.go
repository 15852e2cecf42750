package codec

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/BurntSushi/toml"
	"github.com/gitruns/gitruns/run"
)

// EncodeExperiment returns e as the text of experiment.toml: the format,
// id, name, former names, times and lifecycle as top-level keys, then the
// [tags] table, keys in byte order. Like EncodeTOML it writes the same
// bytes for equal experiments, times in UTC to the millisecond, and
// leaves out former names, times and tags when empty. It fails on what
// DecodeExperiment would refuse: an invalid id, name or former name, a
// tag key that is empty, too long or not UTF-8, a time out of range, more
// than run.MaxExperimentSize bytes in all.
func EncodeExperiment(e *run.Experiment) ([]byte, error) {
	if err := checkExperiment(e); err != nil {
		return nil, err
	}
	enc := tomlEncoder{b: make([]byte, 0, 256+64*len(e.Tags))}
	enc.b = append(enc.b, "format = "...)
	enc.b = strconv.AppendInt(enc.b, run.Format, 10)
	enc.stringField("\nid = ", e.ID)
	enc.stringField("\nname = ", e.Name)
	if len(e.Former) > 0 {
		enc.b = append(enc.b, "\nformer = "...)
		enc.stringArray(e.Former)
	}
	if !e.Created.IsZero() {
		enc.b = append(enc.b, "\ncreated = "...)
		enc.b = appendTime(enc.b, e.Created)
	}
	if !e.Updated.IsZero() {
		enc.b = append(enc.b, "\nupdated = "...)
		enc.b = appendTime(enc.b, e.Updated)
	}
	enc.b = append(enc.b, "\ndeleted = "...)
	enc.b = strconv.AppendBool(enc.b, e.Deleted)
	enc.b = append(enc.b, '\n')
	enc.stringTable("\n[tags]\n", e.Tags)
	if enc.err != nil {
		return nil, enc.err
	}
	if len(enc.b) > run.MaxExperimentSize {
		return nil, fmt.Errorf("encode experiment: %d bytes, more than %d", len(enc.b), run.MaxExperimentSize)
	}
	return enc.b, nil
}

// checkExperiment refuses what an experiment.toml may not hold.
func checkExperiment(e *run.Experiment) error {
	if !run.ValidExperimentID(e.ID) {
		return fmt.Errorf("encode experiment: invalid id %q", e.ID)
	}
	if err := run.ValidateExperimentName(e.Name); err != nil {
		return fmt.Errorf("encode experiment: %w", err)
	}
	if len(e.Former) > run.MaxFormerNames {
		return fmt.Errorf("encode experiment: more than %d former names", run.MaxFormerNames)
	}
	for _, n := range e.Former {
		if err := run.ValidateExperimentName(n); err != nil {
			return fmt.Errorf("encode experiment: former name: %w", err)
		}
	}
	for _, t := range []time.Time{e.Created, e.Updated} {
		if !t.IsZero() && !tomlTimeOK(t) {
			return fmt.Errorf("encode experiment: time %v is out of range", t)
		}
	}
	for k := range e.Tags {
		if problem := tagKeyProblem(k); problem != "" {
			return fmt.Errorf("encode experiment: tag %s: %s", shortKey(k), problem)
		}
	}
	return nil
}

// tagKeyProblem says what is wrong with the key of an experiment's tag,
// or returns "". Readers are lenient: MLflow's own rules are for writers
// (tracker.EditExperiment applies them); a reader needs only keys that
// stay one short line.
func tagKeyProblem(k string) string {
	switch {
	case k == "":
		return "empty key"
	case len(k) > run.MaxKeyLen:
		return fmt.Sprintf("key longer than %d bytes", run.MaxKeyLen)
	case !utf8.ValidString(k):
		return "key is not valid UTF-8"
	case strings.IndexFunc(k, unicode.IsControl) >= 0:
		return "control character in key"
	}
	return ""
}

// DecodeExperiment reads the text of experiment.toml. It arrives from
// other repositories, so it is held to the limits of docs/FORMAT.md: its
// size before anything is read, its nesting before the decoder reads it,
// its names, tags and counts after. Unknown keys are ignored, so that a
// later version's files still read; a newer format, a missing or invalid
// id or name, and values of the wrong type are errors, each one line.
// Tags are never nil; Former is nil when empty.
func DecodeExperiment(b []byte) (*run.Experiment, error) {
	if len(b) > run.MaxExperimentSize {
		return nil, fmt.Errorf("decode experiment: %d bytes, more than %d", len(b), run.MaxExperimentSize)
	}
	if err := checkTOMLShapeOf(b, "experiment"); err != nil {
		return nil, err
	}
	var doc map[string]any
	if err := toml.Unmarshal(b, &doc); err != nil {
		return nil, shortError(fmt.Errorf("decode experiment: %w", err))
	}
	if err := experimentFormat(doc["format"]); err != nil {
		return nil, err
	}
	d := tomlDecoder{what: "experiment"}
	e := &run.Experiment{
		ID:      d.str(doc, "id"),
		Name:    d.str(doc, "name"),
		Former:  d.strs(doc, "former"),
		Created: d.time(doc, "created"),
		Updated: d.time(doc, "updated"),
		Deleted: d.bool(doc, "deleted"),
		Tags:    map[string]string{},
	}
	tags := d.table(doc, "tags")
	if d.err != nil {
		return nil, d.err
	}
	if err := checkDecodedExperiment(doc, e); err != nil {
		return nil, err
	}
	if err := decodeExperimentTags(tags, e.Tags); err != nil {
		return nil, err
	}
	return e, nil
}

func experimentFormat(v any) error {
	f, ok := v.(int64)
	switch {
	case v == nil:
		return errors.New("decode experiment: missing format")
	case !ok:
		return fmt.Errorf("decode experiment: format is %s, not an integer", tomlType(v))
	case f > run.Format:
		return fmt.Errorf("experiment format %d is newer than this git-runs understands (%d)", f, run.Format)
	case f < 1:
		return fmt.Errorf("decode experiment: invalid format %d", f)
	}
	return nil
}

// checkDecodedExperiment checks the id and names of e, read from doc.
func checkDecodedExperiment(doc map[string]any, e *run.Experiment) error {
	switch {
	case doc["id"] == nil:
		return errors.New("decode experiment: missing id")
	case !run.ValidExperimentID(e.ID):
		return fmt.Errorf("decode experiment: invalid id %s", shortKey(e.ID))
	case doc["name"] == nil:
		return errors.New("decode experiment: missing name")
	case len(e.Former) > run.MaxFormerNames:
		return fmt.Errorf("decode experiment: more than %d former names", run.MaxFormerNames)
	}
	if err := run.ValidateExperimentName(e.Name); err != nil {
		return fmt.Errorf("decode experiment: %w", err)
	}
	for _, n := range e.Former {
		if err := run.ValidateExperimentName(n); err != nil {
			return fmt.Errorf("decode experiment: former name: %w", err)
		}
	}
	return nil
}

// decodeExperimentTags copies the string values of the table tags into
// dst, refusing other values and keys that could not be written back.
func decodeExperimentTags(tags map[string]any, dst map[string]string) error {
	if len(tags) > run.MaxEntries {
		return fmt.Errorf("decode experiment: more than %d tags", run.MaxEntries)
	}
	for k, v := range tags {
		if problem := tagKeyProblem(k); problem != "" {
			return fmt.Errorf("decode experiment: tag %s: %s", shortKey(k), problem)
		}
		s, ok := v.(string)
		if !ok {
			return fmt.Errorf("decode experiment: tag %s is %s, not a string", shortKey(k), tomlType(v))
		}
		if len(s) > run.MaxStringLen {
			return fmt.Errorf("decode experiment: tag %s longer than %d bytes", shortKey(k), run.MaxStringLen)
		}
		dst[k] = s
	}
	return nil
}
