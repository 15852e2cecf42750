package gitstore

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// RunsVersion describes, cheaply, the state of everything a listing of
// runs reads: the directories of the run, tombstone, experiment and
// remote-tracking refs (git writes a loose ref by renaming a lock file
// into its directory, which changes the directory's time), packed-refs,
// and each journal of a live run. Two equal versions mean nothing a
// listing shows changed in between, by this process or any other; "" when
// a time is too recent to trust (within the file system's resolution of a
// write that may follow), and then a listing must be made.
func (r *Repo) RunsVersion() string {
	var b strings.Builder
	now := time.Now()
	stat := func(p string) bool {
		fi, err := os.Stat(p)
		if err != nil {
			b.WriteString("-;")
			return true
		}
		if now.Sub(fi.ModTime()) < racyWindow {
			return false
		}
		b.WriteString(strconv.FormatInt(fi.ModTime().UnixNano(), 10) + "," + strconv.FormatInt(fi.Size(), 10) + ";")
		return true
	}
	paths := []string{
		r.refPath(RunsPrefix), r.refPath(DeletedPrefix), r.refPath(ExperimentsPrefix),
		filepath.Join(r.CommonDir, "packed-refs"), r.LiveDir(), r.refPath(TrackingPrefix),
	}
	remotes, _ := os.ReadDir(r.refPath(TrackingPrefix))
	for _, e := range remotes {
		for _, sub := range []string{"runs", "deleted", "experiments"} {
			paths = append(paths, r.refPath(TrackingPrefix+e.Name()+"/"+sub))
		}
	}
	journals, _ := filepath.Glob(filepath.Join(r.LiveDir(), "*.journal"))
	paths = append(paths, journals...)
	for _, p := range paths {
		if !stat(p) {
			return ""
		}
	}
	return b.String()
}
