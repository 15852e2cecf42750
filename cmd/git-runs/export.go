package main

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"io"
	"strconv"
	"time"

	"github.com/gitruns/gitruns/gitstore"
	"github.com/gitruns/gitruns/run"
	"github.com/gitruns/gitruns/run/codec"
)

type exportCmd struct {
	Where  string `placeholder:"EXPR" help:"Only runs matching EXPR."`
	Format string `default:"csv" enum:"csv,jsonl" help:"csv or jsonl."`
	Runs   bool   `help:"One row per run (params and metric summaries) instead of every metric point."`
}

func (c *exportCmd) Help() string {
	return `Writes metric histories in long form, one row per point (run, name, key,
step, timestamp in Unix milliseconds, value), or with --runs one row per
run with its attributes, params and metric summaries: ready for pandas.

  git runs export > points.csv
  git runs export --runs --where "attributes.status = 'finished'" > runs.csv
  pd.read_csv("points.csv").pivot_table(index="step", columns="run", values="value")`
}

func (c *exportCmd) Run(e *env) error {
	repo, all, err := e.runs()
	if err != nil {
		return err
	}
	if all, err = where(all, c.Where); err != nil {
		return err
	}
	w := bufio.NewWriterSize(e.stdout, 64<<10)
	defer w.Flush()
	if c.Runs {
		if c.Format == "jsonl" {
			for _, en := range all {
				w.Write(append(codec.AppendJSON(nil, en.Record), '\n'))
			}
			return nil
		}
		return exportRunsCSV(w, all)
	}
	cw := csv.NewWriter(w)
	if c.Format == "csv" {
		cw.Write([]string{"run", "name", "key", "step", "timestamp", "value"})
	}
	enc := json.NewEncoder(w)
	for _, en := range all {
		hist, err := e.history(repo, en)
		if err != nil {
			return err
		}
		for _, k := range sortedKeys(hist) {
			for _, p := range hist[k] {
				if c.Format == "csv" {
					cw.Write([]string{en.ID, en.Record.Name, k, strconv.FormatInt(p.Step, 10), strconv.FormatInt(p.Time, 10), csvFloat(p.Value)})
					continue
				}
				enc.Encode(pointJSON{Run: en.ID, Name: en.Record.Name, Key: k, Step: p.Step, Timestamp: p.Time, Value: run.JSONNumber(p.Value)})
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

func csvFloat(v float64) string {
	return strconv.FormatFloat(v, 'g', -1, 64) // NaN, +Inf and -Inf read back in pandas
}

type pointJSON struct {
	Run       string `json:"run"`
	Name      string `json:"name"`
	Key       string `json:"key"`
	Step      int64  `json:"step"`
	Timestamp int64  `json:"timestamp"`
	Value     any    `json:"value"`
}

// exportRunsCSV writes a row per run: attributes, every param, and each
// metric's summary.
func exportRunsCSV(w io.Writer, all []gitstore.Entry) error {
	params := map[string]bool{}
	metrics := map[string]bool{}
	for _, en := range all {
		for k := range en.Record.Params {
			params[k] = true
		}
		for k := range en.Record.Metrics {
			metrics[k] = true
		}
	}
	pk, mk := sortedKeys(params), sortedKeys(metrics)
	head := []string{"run", "name", "experiment", "status", "started", "ended", "duration", "commit", "branch", "dirty"}
	for _, k := range pk {
		head = append(head, "params."+k)
	}
	for _, k := range mk {
		for _, f := range []string{"last", "step", "min", "max", "count"} {
			head = append(head, "metrics."+k+"."+f)
		}
	}
	cw := csv.NewWriter(w)
	cw.Write(head)
	now := time.Now()
	for _, en := range all {
		r := en.Record
		ended := ""
		if !r.Ended.IsZero() {
			ended = r.Ended.Format(time.RFC3339Nano)
		}
		row := []string{r.ID, r.Name, r.Experiment, string(r.Status), r.Started.Format(time.RFC3339Nano), ended,
			strconv.FormatFloat(r.Duration(now).Seconds(), 'f', 3, 64), r.Source.Commit, r.Source.Branch, strconv.FormatBool(r.Source.Dirty)}
		for _, k := range pk {
			v, ok := r.Params[k]
			if !ok {
				row = append(row, "")
				continue
			}
			row = append(row, run.FormatPlain(v))
		}
		for _, k := range mk {
			m, ok := r.Metrics[k]
			if !ok {
				row = append(row, "", "", "", "", "")
				continue
			}
			row = append(row, csvFloat(m.Last), strconv.FormatInt(m.Step, 10), csvFloat(m.Min), csvFloat(m.Max), strconv.FormatInt(m.Count, 10))
		}
		cw.Write(row)
	}
	cw.Flush()
	return cw.Error()
}
