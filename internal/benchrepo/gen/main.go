// Command gen writes a packed repository of N runs for benchmarks:
//
//	go run ./internal/benchrepo/gen -n 1000000 DIR
package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/gitruns/gitruns/internal/benchrepo"
)

func main() {
	n := flag.Int("n", 100000, "number of runs")
	bare := flag.Bool("bare", false, "make a bare repository, as a remote")
	add := flag.Bool("add", false, "add N runs to the existing repository DIR instead")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: gen [-n N] [-bare] [-add] DIR")
		os.Exit(2)
	}
	dir := flag.Arg(0)
	start := time.Now()
	var err error
	if *add {
		err = benchrepo.AddRuns(dir, *n)
	} else {
		err = benchrepo.Generate(dir, *n, benchrepo.Options{Bare: *bare, Log: os.Stderr})
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "done in %.1f s\n", time.Since(start).Seconds())
}
