package live

import (
	"encoding/json"
	"strconv"

	"github.com/gitruns/gitruns/run"
	"github.com/gitruns/gitruns/run/codec"
)

// The journal is the live log of a run: one file, appended to by every
// process that logs into the run, replayed to build each commit. It is the
// single source of truth while the run lives, so a process that dies loses
// only what it had not yet handed to write(2).
//
// Each entry is one line, written with a single write on a file opened with
// O_APPEND, so entries from several processes interleave whole. The first
// field names the entry:
//
//	S <json>                       start: the run's fixed fields and its owner
//	P <key> <toml value>           param
//	p <key> <toml value>           default param: any P for the key replaces it
//	T <key> <json string>          tag
//	M <key> <step> <ms> <value>    metric point logged by the program
//	m <key> <step> <ms> <value>    metric point read from its output
//	A <path> <blob> <mode>         artifact already stored as a blob
//	A <path> - -                   the artifact at path, or below it, removed
//	H <json>                       facts about the host learnt after the start
//	C <ms> <commit>                the run was committed, as of the entries before
//	X <ms> <status> <exit code> [<signal>]   end ("-" for no exit code)
//	N <json string>                the run renamed
//
// Fields are separated by tabs; keys cannot contain tabs or newlines. The
// Python package (python/gitruns) appends M entries itself, so this is a
// contract between the two. A line that does not parse is skipped; a
// writer killed in the middle of a line leaves a torn entry that the next
// writer's line is appended to, and replay then finds that whole entry
// inside the joined line (see state.replay).

// entryKinds are the first bytes of journal entries.
const entryKinds = "SPpTMmAHCXN"

// Owner identifies the process whose death means the run crashed.
type Owner struct {
	PID   int    `json:"pid"`
	Start uint64 `json:"start,omitempty"` // process start time, to tell a reused pid apart
	Host  string `json:"host"`
	// Lease, for a run owned by a long-lived service (git runs serve), is
	// how long the run outlives its owner's death without a write to its
	// journal (ms): a restarted service takes such runs back, and their
	// clients go on logging into them. Zero: the run crashed with its owner.
	Lease int64 `json:"lease_ms,omitempty"`
}

type startEntry struct {
	ID         string            `json:"id"`
	Name       string            `json:"name"`
	Experiment string            `json:"experiment"`
	Started    int64             `json:"started"`
	Command    []string          `json:"command,omitempty"`
	Source     run.Source        `json:"source"`
	Host       run.Host          `json:"host"`
	Owner      Owner             `json:"owner"`
	Author     run.Person        `json:"author,omitzero"`
	Checkpoint int64             `json:"checkpoint_ms"`
	Env        map[string]string `json:"env,omitempty"`
	RerunOf    string            `json:"rerun_of,omitempty"`
	// Output tells that the command's output is kept in the files next
	// to the journal (see Run.OutputPrefix).
	Output      bool  `json:"output,omitempty"`
	OutputLimit int64 `json:"output_limit,omitempty"`
}

func appendStart(b []byte, e *startEntry) []byte {
	j, err := json.Marshal(e)
	if err != nil {
		panic(err) // only plain strings and numbers: cannot fail
	}
	b = append(b, "S\t"...)
	b = append(b, j...)
	return append(b, '\n')
}

func appendParam(b []byte, key string, v any, soft bool) ([]byte, error) {
	if soft {
		b = append(b, "p\t"...)
	} else {
		b = append(b, "P\t"...)
	}
	b = append(b, key...)
	b = append(b, '\t')
	b, err := codec.AppendValue(b, v)
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

func appendTag(b []byte, key, v string) []byte {
	j, _ := json.Marshal(v)
	b = append(b, "T\t"...)
	b = append(b, key...)
	b = append(b, '\t')
	b = append(b, j...)
	return append(b, '\n')
}

// appendTagEdit appends a tag set (v not nil) or removed (v nil) at ms,
// which merges with edits made elsewhere by that time.
func appendTagEdit(b []byte, key string, v *string, ms int64) []byte {
	j, _ := json.Marshal(v)
	b = append(b, "T\t"...)
	b = append(b, key...)
	b = append(b, '\t')
	b = append(b, j...)
	b = append(b, '\t')
	b = strconv.AppendInt(b, ms, 10)
	return append(b, '\n')
}

// appendMetric appends a metric entry: M for a point logged by the
// program, m for one read from its output.
func appendMetric(b []byte, parsed bool, key string, step, ms int64, v float64) []byte {
	if parsed {
		b = append(b, "m\t"...)
	} else {
		b = append(b, "M\t"...)
	}
	b = append(b, key...)
	b = append(b, '\t')
	b = strconv.AppendInt(b, step, 10)
	b = append(b, '\t')
	b = strconv.AppendInt(b, ms, 10)
	b = append(b, '\t')
	b = run.AppendFloat(b, v)
	return append(b, '\n')
}

func appendArtifact(b []byte, a run.Artifact) []byte {
	mode := "644"
	if a.Exec {
		mode = "755"
	}
	b = append(b, "A\t"...)
	b = append(b, a.Path...)
	b = append(b, '\t')
	b = append(b, a.Blob...)
	b = append(b, '\t')
	b = append(b, mode...)
	return append(b, '\n')
}

func appendHost(b []byte, h run.Host) []byte {
	j, err := json.Marshal(h)
	if err != nil {
		panic(err) // plain strings and numbers: cannot fail
	}
	b = append(b, "H\t"...)
	b = append(b, j...)
	return append(b, '\n')
}

func appendSaved(b []byte, ms int64, commit string) []byte {
	b = append(b, "C\t"...)
	b = strconv.AppendInt(b, ms, 10)
	b = append(b, '\t')
	b = append(b, commit...)
	return append(b, '\n')
}

func appendEnd(b []byte, ms int64, s run.Status, code *int, signal string) []byte {
	b = append(b, "X\t"...)
	b = strconv.AppendInt(b, ms, 10)
	b = append(b, '\t')
	b = append(b, s...)
	b = append(b, '\t')
	if code == nil {
		b = append(b, '-')
	} else {
		b = strconv.AppendInt(b, int64(*code), 10)
	}
	if signal != "" {
		b = append(b, '\t')
		b = append(b, signal...)
	}
	return append(b, '\n')
}

// parseJournalInt reads a decimal int64 without allocating. It refuses
// math.MinInt64, which no step or time can be (it is NextStep).
func parseJournalInt(b []byte) (int64, bool) {
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 19 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	if n < 0 {
		return 0, false // overflowed
	}
	if neg {
		n = -n
	}
	return n, true
}
