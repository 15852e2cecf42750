package gitstore

import (
	"bufio"
	"context"
	"io"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"

	"github.com/gitruns/gitruns/run"
	"github.com/gitruns/gitruns/run/codec"
)

// streamRecords reads the records of entries with one `git cat-file
// --batch`, decodes them on the other cores as they come, and calls f
// with each one read, in no particular order, from one goroutine at a
// time. Records it cannot read are left for the caller to read another
// way. Memory stays bounded by the records in flight, not their number:
// an index of a million runs is built without holding them.
func (r *Repo) streamRecords(ctx context.Context, runs []change, f func(i int, rec *run.Record)) error {
	if CheckGit() != nil {
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cmd := exec.CommandContext(ctx, "git", "cat-file", "--batch")
	cmd.Dir = r.gitCwd()
	cmd.Env = r.gitEnv()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil
	}
	if err := cmd.Start(); err != nil {
		return nil
	}
	go func() {
		w := bufio.NewWriterSize(stdin, 64<<10)
		for _, c := range runs {
			w.WriteString(c.commit.String() + ":" + RecordFile + "\n")
		}
		w.Flush()
		stdin.Close()
	}()
	type body struct {
		i    int
		data []byte
	}
	bodies := make(chan body, 256)
	go func() {
		defer close(bodies)
		readBodies(bufio.NewReaderSize(stdout, 256<<10), len(runs), func(i int, data []byte) {
			bodies <- body{i, data}
		})
		io.Copy(io.Discard, stdout)
	}()
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range max(1, runtime.GOMAXPROCS(0)-1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range bodies {
				rec, err := codec.DecodeTOML(b.data)
				if err != nil || rec.ID != runs[b.i].id {
					continue
				}
				mu.Lock()
				batchRecords.Add(1)
				f(b.i, rec)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	cmd.Wait()
	return ctx.Err()
}

// readBodies reads n answers of git cat-file --batch and passes on the
// blobs, by their position in the request, that are not too big to be
// records.
func readBodies(br *bufio.Reader, n int, f func(i int, data []byte)) {
	for i := 0; i < n; i++ {
		header, err := br.ReadString('\n')
		if err != nil {
			return
		}
		fs := strings.Fields(header)
		if len(fs) != 3 || fs[1] != "blob" {
			continue // "<name> missing": the caller says why
		}
		size, err := strconv.Atoi(fs[2])
		if err != nil || size < 0 {
			return
		}
		if size > run.MaxRecordSize {
			if _, err := io.CopyN(io.Discard, br, int64(size)+1); err != nil {
				return
			}
			continue
		}
		data := make([]byte, size+1) // and the newline after it
		if _, err := io.ReadFull(br, data); err != nil {
			return
		}
		f(i, data[:size])
	}
}
