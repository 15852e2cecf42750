// Package outlog keeps the output of a run's command on disk while it
// runs, bounded and redacted, in files that any process can read: the
// recorder at a checkpoint, crash recovery after the recorder died, and
// watchers following the run. The stored output.log of a run is what Read
// assembles from them.
package outlog
