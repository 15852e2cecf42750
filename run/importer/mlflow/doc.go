// Package mlflow reads MLflow's tracking stores for run/importer: the
// file store (a directory such as mlruns/, FileStore) and the SQLite
// database (OpenSQLite, through a driver in pure Go, read-only).
//
// The layouts are MLflow's own (its file_store.py and the schema its
// migrations leave): a file store holds an experiment per directory
// with a meta.yaml, deleted experiments under .trash/, and below each
// experiment a directory per run with a meta.yaml, params/, tags/ and
// metrics/ holding a file per key (a key with a slash nests), and
// artifacts/. A metric file holds "TIMESTAMP VALUE STEP" lines. The
// database has tables experiments, runs, params, tags and metrics; it
// keeps NaN as is_nan and infinities as the largest float, which the
// reader turns back.
//
// Artifacts are read only from inside the store: a file store's run's
// own artifacts/ directory, and for a database the location each run
// names when it lies inside the database's directory (mlflow-artifacts:/
// as mlflow server keeps it there, in mlartifacts/). A store from
// elsewhere names paths of its own machine, or any path at all.
package mlflow
