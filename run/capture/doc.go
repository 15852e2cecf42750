// Package capture turns what a command gives away while it runs — its
// argv, its environment and its output — into run data: params from the
// command line, metric points from output lines, the variables that matter
// for reproducing it, and a size-capped, redacted copy of its output.
//
// Runs are pushed to shared remotes, so everything here passes through a
// Redactor first: values of variables whose names look secret never reach a
// run, whether they appear in argv, in the environment or in the output.
// The package has no git in it and knows nothing of where runs are kept;
// `git runs exec` wires it to a command and a recorder.
package capture
