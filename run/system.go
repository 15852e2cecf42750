package run

import "strings"

// SystemPrefix starts the key of every system metric: what a run cost the
// machine (CPU, memory, disk, network, GPUs), sampled by git runs exec
// and the SDKs rather than logged by the program (docs/CAPTURE.md,
// "System metrics").
const SystemPrefix = "system/"

// IsSystemMetric reports whether key names a system metric. Views that
// pick metrics for the reader (the columns of a listing, a commit's
// subject, a diff) leave them out, as they differ from run to run
// whatever the program did; asked for by name, they are there.
func IsSystemMetric(key string) bool { return strings.HasPrefix(key, SystemPrefix) }
