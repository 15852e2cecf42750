package importer

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/gitruns/gitruns/run/outlog"
)

// readOutput returns the output a run printed, in the file at path, as
// git runs exec keeps a command's: written through an outlog.Log, so
// that a line redrawn after \r is kept in its last state, secrets known
// by their shape are redacted, and only the head and tail of a long
// output are kept, each half of outlog.DefaultLimit. The file is read
// once, as a stream: however long, it costs the limit in memory.
func readOutput(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read output: %w", err)
	}
	defer f.Close()
	dir, err := os.MkdirTemp("", "git-runs-import-")
	if err != nil {
		return nil, fmt.Errorf("read output: %w", err)
	}
	defer os.RemoveAll(dir)
	prefix := filepath.Join(dir, "output")
	log, err := outlog.Create(prefix, 0, nil)
	if err != nil {
		return nil, fmt.Errorf("read output %s: %w", path, err)
	}
	_, err = io.Copy(log, f)
	if cerr := log.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("read output %s: %w", path, err)
	}
	data, _, err := outlog.Read(prefix, 0)
	if err != nil {
		return nil, fmt.Errorf("read output %s: %w", path, err)
	}
	return data, nil
}
