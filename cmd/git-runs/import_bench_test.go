package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// BenchmarkImportMLflow times git runs import mlflow on an MLflow file
// store of 2,000 runs with 3 metrics of 1,000 points each (6 million
// points, 190 MB of metric files), made here as MLflow lays one out. Two
// baselines, measured in the same run:
//
//   - read: cat of every file of the store, the least any importer does
//     (the page cache is warm, as it is for the import);
//   - write: git fast-import of the same 2,000 runs as commits whose
//     trees hold the metric files as they are, git's own fastest way to
//     store that much (one pack, no parsing).
//
// The import does both: it reads and parses every file, and writes loose
// objects and a ref per run. git gc, which a repository of that many
// loose objects starts afterwards, detached, is left out of both. A re-import, which finds nothing new, is
// timed against the read baseline too.
func BenchmarkImportMLflow(b *testing.B) {
	bin := buildBinary(b)
	dir := b.TempDir()
	store := filepath.Join(dir, "mlruns")
	stream := filepath.Join(dir, "fast-import.stream")
	writeMLflowStore(b, store, stream, 2000, 3, 1000)
	// gc.auto 0: the 8,000 loose objects an import leaves start git gc
	// when it closes, detached, which would run into the next timing.
	prep := "rm -rf repo && git init -q repo && git -C repo config gc.auto 0 && git -C repo commit -q --allow-empty -m init"
	imp := "cd repo && " + bin + " import mlflow ../mlruns > /dev/null"
	read := "find mlruns -type f -exec cat {} + > /dev/null"
	write := "cd repo && git fast-import --quiet < ../fast-import.stream"
	const reps = 3
	var ti, tr, tw, tre, ci, cw, cre []time.Duration
	for range reps {
		timeCmd(b, dir, prep)
		w, c := timeCPU(b, dir, imp)
		ti, ci = append(ti, w), append(ci, c)
		w, c = timeCPU(b, dir, imp)
		tre, cre = append(tre, w), append(cre, c)
		tr = append(tr, timeCmd(b, dir, read))
		timeCmd(b, dir, prep)
		w, c = timeCPU(b, dir, write)
		tw, cw = append(tw, w), append(cw, c)
	}
	mi, mr, mw, mre := median(ti), median(tr), median(tw), median(tre)
	fmt.Printf("import 2,000 runs x 3 x 1,000 points  git-runs %8.1f ms (cpu %8.1f)   read %8.1f ms (ratio %.2f)   git fast-import %8.1f ms (cpu %8.1f, ratio %.2f)\n",
		ms(mi), ms(median(ci)), ms(mr), float64(mi)/float64(mr), ms(mw), ms(median(cw)), float64(mi)/float64(mw))
	fmt.Printf("re-import, nothing new                git-runs %8.1f ms (cpu %8.1f)   read %8.1f ms (ratio %.2f)\n", ms(mre), ms(median(cre)), ms(mr), float64(mre)/float64(mr))
	fmt.Printf("load average during the benchmark: %s", loadavg())
	b.ReportMetric(ms(mi), "ms-import")
	b.ReportMetric(ms(mre), "ms-reimport")
	b.ReportMetric(ms(mr), "ms-read")
	b.ReportMetric(ms(mw), "ms-fastimport")
}

// timeCPU runs a shell command line in dir and returns how long it took
// and the CPU time (user and system) it and its children used: on a
// machine shared with other work the CPU time is the steadier figure.
func timeCPU(b *testing.B, dir, line string) (time.Duration, time.Duration) {
	b.Helper()
	cmd := exec.Command("sh", "-c", line)
	cmd.Dir = dir
	cmd.Env = benchEnv()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		b.Fatalf("%s: %v\n%s", line, err, stderr.String())
	}
	return time.Since(start), cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
}

func loadavg() string {
	data, _ := os.ReadFile("/proc/loadavg")
	return string(data)
}

// writeMLflowStore writes an MLflow file store of n runs in one
// experiment, each with 5 params, 4 tags and metrics metrics of points
// points, and a git fast-import stream of the same runs.
func writeMLflowStore(b *testing.B, root, stream string, n, metrics, points int) {
	b.Helper()
	must := func(err error) {
		if err != nil {
			b.Fatal(err)
		}
	}
	exp := filepath.Join(root, "1")
	must(os.MkdirAll(exp, 0o755))
	must(os.WriteFile(filepath.Join(exp, "meta.yaml"), []byte("artifact_location: file:///tmp/mlruns/1\ncreation_time: 1700000000000\nexperiment_id: '1'\nlast_update_time: 1700000000000\nlifecycle_stage: active\nname: bench\n"), 0o644))
	sf, err := os.Create(stream)
	must(err)
	fi := bufio.NewWriter(sf)
	const base = int64(1700000000000)
	var line []byte
	for i := range n {
		id := fmt.Sprintf("%032x", i+1)
		d := filepath.Join(exp, id)
		start := base + int64(i)*60_000
		meta := fmt.Sprintf("artifact_uri: file:///tmp/mlruns/1/%s/artifacts\nend_time: %d\nentry_point_name: ''\nexperiment_id: '1'\nlifecycle_stage: active\nrun_id: %s\nrun_name: run-%d\nrun_uuid: %s\nsource_name: ''\nsource_type: 4\nsource_version: ''\nstart_time: %d\nstatus: 3\ntags: []\nuser_id: ada\n",
			id, start+50_000, id, i, id, start)
		files := map[string][]byte{"meta.yaml": []byte(meta)}
		for k, v := range map[string]string{"lr": "0.001", "epochs": strconv.Itoa(i % 10), "model": "mlp", "depth": strconv.Itoa(i % 5), "seed": strconv.Itoa(i)} {
			files["params/"+k] = []byte(v)
		}
		for k, v := range map[string]string{"mlflow.runName": fmt.Sprintf("run-%d", i), "mlflow.user": "ada", "mlflow.source.name": "train.py", "mlflow.source.type": "LOCAL"} {
			files["tags/"+k] = []byte(v)
		}
		for m := range metrics {
			var buf []byte
			for s := range points {
				line = strconv.AppendInt(line[:0], start+int64(s)*50, 10)
				line = append(line, ' ')
				line = strconv.AppendFloat(line, 1/float64(s+m+2)+float64(i%7)/1000, 'g', -1, 64)
				line = append(line, ' ')
				line = strconv.AppendInt(line, int64(s), 10)
				line = append(line, '\n')
				buf = append(buf, line...)
			}
			files["metrics/"+[]string{"loss", "val/loss", "accuracy"}[m%3]+strings.Repeat("_", m/3)] = buf
		}
		fmt.Fprintf(fi, "commit refs/runs/%s\ncommitter B <b@example.com> %d +0000\ndata 0\n", id, start/1000)
		for p, data := range files {
			full := filepath.Join(d, filepath.FromSlash(p))
			must(os.MkdirAll(filepath.Dir(full), 0o755))
			must(os.WriteFile(full, data, 0o644))
			fmt.Fprintf(fi, "M 100644 inline %s\ndata %d\n", p, len(data))
			fi.Write(data)
			fi.WriteByte('\n')
		}
		must(os.MkdirAll(filepath.Join(d, "artifacts"), 0o755))
	}
	must(fi.Flush())
	must(sf.Close())
}
