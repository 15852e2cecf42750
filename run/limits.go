package run

// Limits on what a reader accepts, for records, histories and outputs that
// arrive from other repositories and so may have been written to hurt
// whoever reads them. Each is well above what a heavy run records (a run
// of 2,000 metrics writes a run.toml of some 200 KiB, a million points a
// metrics.tsv of some 45 MiB) and low enough that reading the worst input
// they allow costs a few hundred MiB at most. docs/FORMAT.md lists them.
const (
	// MaxRecordSize bounds run.toml, in bytes.
	MaxRecordSize = 1 << 20
	// MaxKeyDepth bounds how many tables deep a key of run.toml nests,
	// counting table headers, dotted keys and inline tables: the general
	// TOML decoder's cost grows with the depth of every key it reads.
	MaxKeyDepth = 16
	// MaxStringLen bounds every string of a record, in bytes.
	MaxStringLen = maxValueLen
	// MaxKeyLen bounds every key of a record and of metrics.tsv, and a
	// run's name, in bytes.
	MaxKeyLen = maxKeyLen
	// MaxEntries bounds the entries of each table and array of a record:
	// params, metrics, tags, env, command, skipped files, packages.
	MaxEntries = 1 << 16
	// MaxGPUs bounds the GPUs of a record's host.
	MaxGPUs = 1 << 10
	// MaxHistorySize bounds metrics.tsv, in bytes: some five million
	// points.
	MaxHistorySize = 256 << 20
	// MaxOutputSize bounds output.log as read back, in bytes; capture
	// keeps 10 MiB by default.
	MaxOutputSize = 64 << 20
	// MaxArtifacts bounds the files listed under artifacts/, and
	// MaxArtifactDepth how deep their directories nest: a tree may name
	// the same subtree many times, so a small tree can stand for a huge
	// listing.
	MaxArtifacts     = 100_000
	MaxArtifactDepth = 64
	// MaxExperimentSize bounds experiment.toml, in bytes: a name, a few
	// former names and tags. Its names are held to MaxKeyLen, its tag
	// keys too, and its tag values to MaxStringLen.
	MaxExperimentSize = 64 << 10
	// MaxFormerNames bounds the former names of an experiment.
	MaxFormerNames = 1 << 10
)
