package mlflow

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gitruns/gitruns/run"
	"github.com/gitruns/gitruns/run/importer"
	"github.com/gitruns/gitruns/run/mlflowtags"

	_ "modernc.org/sqlite" // the pure-Go SQLite driver, "sqlite"
)

// SQLite keeps no infinities: MLflow writes +-inf as the largest finite
// float, which the reader turns back.
const maxFloat = math.MaxFloat64

// The columns the reader needs of each table, as MLflow's migrations
// leave them since its 2.x versions.
var needColumns = map[string][]string{
	"experiments": {"experiment_id", "name", "lifecycle_stage"},
	"runs":        {"run_uuid", "name", "status", "start_time", "end_time", "lifecycle_stage", "experiment_id", "user_id", "artifact_uri"},
	"params":      {"key", "value", "run_uuid"},
	"tags":        {"key", "value", "run_uuid"},
	"metrics":     {"key", "value", "timestamp", "step", "is_nan", "run_uuid"},
}

// SQLiteStore reads an MLflow tracking database in SQLite, read-only,
// through a driver in pure Go.
type SQLiteStore struct {
	path        string
	db          *sql.DB
	deletedTime bool // runs has deleted_time
}

// IsSQLiteURI tells whether arg names an MLflow SQLite store, as MLflow's
// tracking URIs do: sqlite:///relative/path or sqlite:////absolute/path.
func IsSQLiteURI(arg string) bool { return strings.HasPrefix(arg, "sqlite:") }

// SQLitePath is the file a sqlite: URI names.
func SQLitePath(uri string) (string, error) {
	rest, ok := strings.CutPrefix(uri, "sqlite:///")
	if !ok || rest == "" {
		return "", fmt.Errorf("invalid SQLite URI %q: want sqlite:///relative/path.db or sqlite:////absolute/path.db", uri)
	}
	if i := strings.IndexByte(rest, '?'); i >= 0 {
		rest = rest[:i]
	}
	p, err := url.PathUnescape(rest)
	if err != nil {
		return "", fmt.Errorf("invalid SQLite URI %q: %w", uri, err)
	}
	return filepath.FromSlash(p), nil
}

// OpenSQLite opens the MLflow database at path, read-only.
func OpenSQLite(ctx context.Context, path string) (*SQLiteStore, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("open MLflow database: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("open MLflow database: %s is not a file", path)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("open MLflow database: %w", err)
	}
	// Read-only, and the database's own schema trusted with nothing: a
	// database from elsewhere may carry views and triggers meant to hurt.
	dsn := (&url.URL{Scheme: "file", Path: abs, RawQuery: "mode=ro&_pragma=query_only(1)&_pragma=trusted_schema(0)&_pragma=busy_timeout(5000)"}).String()
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open MLflow database: %w", err)
	}
	s := &SQLiteStore{path: path, db: db}
	if err := s.check(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open MLflow database %s: %w", path, err)
	}
	return s, nil
}

// Close closes the database.
func (s *SQLiteStore) Close() error { return s.db.Close() }

// check makes sure the database is MLflow's: its tables are tables (not
// views), with the columns the reader needs.
func (s *SQLiteStore) check(ctx context.Context) error {
	var version string
	if err := s.db.QueryRowContext(ctx, "SELECT version_num FROM alembic_version").Scan(&version); err != nil {
		return fmt.Errorf("not an MLflow database (no alembic_version): %w", err)
	}
	for table, cols := range needColumns {
		var kind string
		err := s.db.QueryRowContext(ctx, "SELECT type FROM sqlite_master WHERE name = ?", table).Scan(&kind)
		if err != nil || kind != "table" {
			return fmt.Errorf("not an MLflow database: no table %s", table)
		}
		have := map[string]bool{}
		rows, err := s.db.QueryContext(ctx, "SELECT name FROM pragma_table_info(?)", table)
		if err != nil {
			return err
		}
		for rows.Next() {
			var n string
			if err := rows.Scan(&n); err != nil {
				rows.Close()
				return err
			}
			have[n] = true
		}
		rows.Close()
		for _, c := range cols {
			if !have[c] {
				return fmt.Errorf("table %s has no column %s (database at revision %s): upgrade it with mlflow db upgrade", table, c, version)
			}
		}
		if table == "runs" {
			s.deletedTime = have["deleted_time"]
		}
	}
	return nil
}

// where names a run of the database in messages.
func (s *SQLiteStore) where(id string) string {
	return fmt.Sprintf("%s: run %s", s.path, printable(id))
}

// Runs lists the runs of the database.
func (s *SQLiteStore) Runs(ctx context.Context) ([]importer.Ref, []importer.Problem, error) {
	rows, err := s.db.QueryContext(ctx, `
		SELECT r.run_uuid, r.name, r.status, r.start_time, r.lifecycle_stage, r.experiment_id,
			e.name, e.lifecycle_stage,
			(SELECT value FROM tags t WHERE t.run_uuid = r.run_uuid AND t.key = ?),
			(SELECT value FROM tags t WHERE t.run_uuid = r.run_uuid AND t.key = ?)
		FROM runs r LEFT JOIN experiments e ON e.experiment_id = r.experiment_id
		ORDER BY r.start_time, r.run_uuid`, mlflowtags.Parent, mlflowtags.RunName)
	if err != nil {
		return nil, nil, fmt.Errorf("read MLflow database: %w", err)
	}
	defer rows.Close()
	var refs []importer.Ref
	var probs []importer.Problem
	for rows.Next() {
		var v [10]any
		ptrs := make([]any, len(v))
		for i := range v {
			ptrs[i] = &v[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, nil, fmt.Errorf("read MLflow database: %w", err)
		}
		ref, err := s.ref(v)
		if err != nil {
			probs = append(probs, importer.Problem{Where: s.where(text(v[0])), Err: err})
			continue
		}
		refs = append(refs, ref)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("read MLflow database: %w", err)
	}
	return refs, probs, nil
}

// ref reads one row of the listing of runs.
func (s *SQLiteStore) ref(v [10]any) (importer.Ref, error) {
	id, ok := str(v[0])
	if !ok || !validRunID(id) {
		return importer.Ref{}, errors.New("run id is not an MLflow run id")
	}
	st, _ := str(v[2])
	status, ok := mlflowtags.ParseStatus(st)
	if !ok {
		return importer.Ref{}, fmt.Errorf("unknown run status %q", printable(text(v[2])))
	}
	start, ok := integer(v[3])
	if !ok {
		return importer.Ref{}, errors.New("start_time is not an integer")
	}
	exp, ok := integer(v[5])
	if !ok {
		return importer.Ref{}, errors.New("experiment_id is not an integer")
	}
	name, _ := str(v[1])
	if name == "" {
		name, _ = str(v[9])
	}
	expName, _ := str(v[6])
	parent, _ := str(v[8])
	return importer.Ref{
		ID: id, Name: name, Status: status, Start: time.UnixMilli(start),
		Experiment: expName, ExperimentID: fmt.Sprint(exp), Parent: parent,
		Deleted: text(v[4]) == "deleted" || text(v[7]) == "deleted",
		Where:   s.where(id),
	}, nil
}

// Load reads run ref whole.
// IDTag is mlflowtags.RunID: imported runs keep their MLflow id there.
func (s *SQLiteStore) IDTag() string { return mlflowtags.RunID }

func (s *SQLiteStore) Load(ctx context.Context, ref importer.Ref) (*importer.Run, error) {
	r := &importer.Run{Ref: ref, Params: map[string]string{}, Tags: map[string]string{}, Metrics: run.History{}}
	deleted := "NULL"
	if s.deletedTime {
		deleted = "deleted_time"
	}
	var end, user, uri, del any
	err := s.db.QueryRowContext(ctx, "SELECT end_time, user_id, artifact_uri, "+deleted+" FROM runs WHERE run_uuid = ?", ref.ID).Scan(&end, &user, &uri, &del)
	if err != nil {
		return nil, importer.Problem{Where: ref.Where, Err: err}
	}
	if ms, ok := integer(end); ok {
		r.End = time.UnixMilli(ms)
	}
	if ms, ok := integer(del); ok {
		r.DeletedAt = time.UnixMilli(ms)
	}
	r.User, _ = str(user)
	r.ArtifactURI, _ = str(uri)
	bad := func(err error) { r.Problems = append(r.Problems, importer.Problem{Where: ref.Where, Err: err}) }
	for _, kv := range []struct {
		table string
		m     map[string]string
	}{{"params", r.Params}, {"tags", r.Tags}} {
		if err := s.values(ctx, kv.table, ref.ID, kv.m, bad); err != nil {
			return nil, importer.Problem{Where: ref.Where, Err: err}
		}
	}
	if err := s.metrics(ctx, ref.ID, r.Metrics, bad); err != nil {
		return nil, importer.Problem{Where: ref.Where, Err: err}
	}
	r.Artifacts = s.artifacts(r.ArtifactURI, func(p importer.Problem) { r.Problems = append(r.Problems, p) })
	return r, nil
}

// values reads the params or tags of run id into m; a key or value that
// is not text, or too long, is a problem and left out. Lengths are
// asked of SQLite, so that a huge value is never read.
func (s *SQLiteStore) values(ctx context.Context, table, id string, m map[string]string, bad func(error)) error {
	rows, err := s.db.QueryContext(ctx, `
		SELECT key, CASE WHEN length(CAST(value AS BLOB)) > ? THEN NULL ELSE value END,
			length(CAST(value AS BLOB)), typeof(value)
		FROM `+table+` WHERE run_uuid = ? LIMIT ?`, run.MaxStringLen, id, maxEntries+1)
	if err != nil {
		return err
	}
	defer rows.Close()
	noun := strings.TrimSuffix(table, "s")
	n := 0
	for rows.Next() {
		var k, v, size, kind any
		if err := rows.Scan(&k, &v, &size, &kind); err != nil {
			return err
		}
		if n++; n > maxEntries {
			bad(fmt.Errorf("more than %d %s: the rest left out", maxEntries, table))
			break
		}
		key, ok := str(k)
		if !ok || len(key) > run.MaxKeyLen {
			bad(fmt.Errorf("a %s key that is not text of at most %d bytes: left out", noun, run.MaxKeyLen))
			continue
		}
		if kind == "null" {
			v = "" // MLflow lets a tag's value be null
		}
		val, ok := str(v)
		if !ok {
			if l, _ := integer(size); l > int64(run.MaxStringLen) {
				bad(fmt.Errorf("%s %q: value longer than %d bytes: left out", noun, printable(key), run.MaxStringLen))
			} else {
				bad(fmt.Errorf("%s %q: value is not text: left out", noun, printable(key)))
			}
			continue
		}
		m[key] = val
	}
	return rows.Err()
}

// metrics reads the histories of run id, in the order they were logged
// (the table's row order), NaN and infinities as MLflow stored them
// turned back.
func (s *SQLiteStore) metrics(ctx context.Context, id string, h run.History, bad func(error)) error {
	rows, err := s.db.QueryContext(ctx, `
		SELECT key, value, timestamp, step, is_nan FROM metrics
		WHERE run_uuid = ? AND length(CAST(key AS BLOB)) <= ? ORDER BY rowid LIMIT ?`, id, run.MaxKeyLen, maxMetricRows+1)
	if err != nil {
		return err
	}
	defer rows.Close()
	n, nbad := 0, 0
	var first error
	for rows.Next() {
		var k, v, ts, step, isNaN any
		if err := rows.Scan(&k, &v, &ts, &step, &isNaN); err != nil {
			return err
		}
		if n++; n > maxMetricRows {
			bad(fmt.Errorf("more than %d metric points: the rest left out", maxMetricRows))
			break
		}
		key, ok1 := str(k)
		p, ok2 := point(v, ts, step, isNaN)
		if !ok1 || !ok2 {
			if first == nil {
				first = fmt.Errorf("metric %q: a point that is not numbers", printable(text(k)))
			}
			nbad++
			continue
		}
		h[key] = append(h[key], p)
	}
	if first != nil {
		bad(fmt.Errorf("%w: left out (%d such points)", first, nbad))
	}
	return rows.Err()
}

// maxMetricRows bounds the points read of one run.
const maxMetricRows = 5_000_000

func point(v, ts, step, isNaN any) (run.Point, bool) {
	t, ok1 := integer(ts)
	st, ok2 := integer(step)
	if step == nil {
		st, ok2 = 0, true
	}
	nan, _ := integer(isNaN)
	var f float64
	switch x := v.(type) {
	case float64:
		f = x
	case int64:
		f = float64(x)
	default:
		if nan == 0 {
			return run.Point{}, false
		}
	}
	switch {
	case nan != 0:
		f = math.NaN()
	case f == maxFloat:
		f = math.Inf(1)
	case f == -maxFloat:
		f = math.Inf(-1)
	}
	return run.Point{Step: st, Time: t, Value: f}, ok1 && ok2
}

// artifacts lists the files at uri, the run's artifact location, when it
// is on this machine inside the directory of the database: a file: URI
// or path, or mlflow-artifacts:/ (kept by mlflow server, by default in
// mlartifacts/ beside the database). A database from elsewhere can name
// any path: one outside is not read, and stays a reference.
func (s *SQLiteStore) artifacts(uri string, bad func(importer.Problem)) []importer.Artifact {
	base, err := filepath.Abs(filepath.Dir(s.path))
	if err != nil {
		return nil
	}
	var dir string
	switch {
	case strings.HasPrefix(uri, "mlflow-artifacts:"):
		p := strings.TrimPrefix(strings.TrimPrefix(uri, "mlflow-artifacts:"), "//")
		dir = filepath.Join(base, "mlartifacts", filepath.FromSlash(strings.TrimPrefix(p, "/")))
	case strings.HasPrefix(uri, "file://"):
		u, err := url.Parse(uri)
		if err != nil || u.Host != "" && u.Host != "localhost" {
			return nil
		}
		dir = filepath.FromSlash(u.Path)
	case !strings.Contains(uri, ":") && uri != "":
		dir = filepath.FromSlash(uri)
		if !filepath.IsAbs(dir) {
			dir = filepath.Join(base, dir)
		}
	default:
		return nil
	}
	realBase, err1 := filepath.EvalSymlinks(base)
	realDir, err2 := filepath.EvalSymlinks(dir)
	if err1 != nil || err2 != nil {
		return nil // no artifacts here
	}
	if rel, err := filepath.Rel(realBase, realDir); err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return nil
	}
	var out []importer.Artifact
	walk(realDir, bad, func(rel, path string) {
		fi, err := os.Lstat(path)
		if err != nil {
			bad(importer.Problem{Where: path, Err: err})
			return
		}
		p, err := run.CleanArtifactPath(rel)
		if err != nil {
			bad(importer.Problem{Where: path, Err: err})
			return
		}
		out = append(out, importer.Artifact{Path: p, Size: fi.Size(), File: path})
	})
	return out
}

// str is v as a string when it is text, valid UTF-8.
func str(v any) (string, bool) {
	var s string
	switch x := v.(type) {
	case string:
		s = x
	case []byte:
		s = string(x)
	default:
		return "", false
	}
	return s, utf8.ValidString(s)
}

// integer is v as an integer, when it is one.
func integer(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<62 {
			return int64(x), true
		}
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

// text is v as text for a message.
func text(v any) string {
	if s, ok := str(v); ok {
		return s
	}
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}

// printable cuts s for a message and shows its control characters.
func printable(s string) string {
	if len(s) > 64 {
		s = s[:64] + "..."
	}
	q := fmt.Sprintf("%q", s)
	return q[1 : len(q)-1]
}

// Experiments lists the experiments of the database with their tags.
func (s *SQLiteStore) Experiments(ctx context.Context) ([]importer.Experiment, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT experiment_id, name, lifecycle_stage FROM experiments")
	if err != nil {
		return nil, fmt.Errorf("read MLflow database: %w", err)
	}
	var out []importer.Experiment
	for rows.Next() {
		var id, name, stage any
		if err := rows.Scan(&id, &name, &stage); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read MLflow database: %w", err)
		}
		n, ok1 := integer(id)
		nm, ok2 := str(name)
		if ok1 && ok2 {
			out = append(out, importer.Experiment{ID: fmt.Sprint(n), Name: nm, Tags: map[string]string{}, Deleted: text(stage) == "deleted"})
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read MLflow database: %w", err)
	}
	for i := range out {
		if err := s.experimentTags(ctx, &out[i]); err != nil {
			return nil, fmt.Errorf("read MLflow database: %w", err)
		}
	}
	return out, nil
}

func (s *SQLiteStore) experimentTags(ctx context.Context, e *importer.Experiment) error {
	var have int
	if err := s.db.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master WHERE name = 'experiment_tags' AND type = 'table'").Scan(&have); err != nil || have == 0 {
		return err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT key, CASE WHEN length(CAST(value AS BLOB)) > ? THEN NULL ELSE value END
		FROM experiment_tags WHERE experiment_id = ? LIMIT ?`, run.MaxStringLen, e.ID, maxEntries)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var k, v any
		if err := rows.Scan(&k, &v); err != nil {
			return err
		}
		key, ok1 := str(k)
		val, ok2 := str(v)
		if ok1 && ok2 {
			e.Tags[key] = val
		}
	}
	return rows.Err()
}
