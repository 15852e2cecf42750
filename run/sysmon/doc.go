// Package sysmon samples what a run costs the machine while it runs: the
// CPU and resident memory of a command's process tree, the machine's
// memory in use, its disk and network traffic, and each NVIDIA GPU's
// utilisation, memory and power. Samples become metrics under Prefix, so
// that they chart like any other metric without mixing with the
// program's own; docs/CAPTURE.md ("System metrics") names them.
//
// Sampling is cheap by design: one pass over /proc per interval (10 s by
// default), and one nvidia-smi that keeps running and prints a line per
// GPU per interval, rather than a process per sample. Process and
// machine figures are read from /proc on Linux only; elsewhere only the
// GPUs are sampled, where nvidia-smi exists.
package sysmon
