// Package importer brings runs recorded by other trackers into a
// repository's runs, so that months of history need not stay behind.
//
// A Source lists the runs it holds and reads one whole: its experiment,
// name, status, times, params as text, tags, full metric histories and
// artifact files. Package run/importer/mlflow has MLflow's file store
// and its SQLite store; a source for MLflow's REST API or for W&B's
// offline runs is one more implementation of the same two methods.
//
// Import writes each source run the repository does not have as a run
// that has ended, in one commit, with its original times; params typed
// as the command line types them, tags with MLflow's system tags mapped
// as git runs serve maps them (package run/mlflowtags), the parent of a
// nested run named by its git-runs id, the run's git commit as its
// source when the repository has it. The source's id of each run is kept
// in its record (tag mlflow.runId, or wandb.runId: Source.IDTag):
// importing again matches runs by it and adds only what is new, new
// runs, and to a run imported before what the source gained since, as an
// addition to the ended run. The git-runs id of an imported run is made
// from its source id, so that a run removed here after its import is
// known by its tombstone, and left out of later imports.
//
// What a source holds is untrusted: a source bounds what it reads of each
// file and never follows a symbolic link, Import validates every key,
// value and artifact path before the store sees it, and a problem with
// one part (a bad line of a metric file) is reported while the rest is
// imported.
package importer
