// Package secret keeps secrets out of runs, which are meant to be pushed:
// it tells which environment variables and command-line flags hold
// secrets, and redacts their values wherever they would be written.
package secret
