package main

import (
	"os"
	"os/exec"
	"strings"
)

// page sends the rest of the command's standard output through the
// user's pager when it is a terminal, as git does for log and diff: the
// pager git would use (GIT_PAGER, core.pager, PAGER, else less), with
// LESS=FRX unless set, so that output that fits one screen is printed as
// is. --no-pager, or a pager of "cat" or "", turns it off. Colour stays
// as decided for the terminal.
func (e *env) page() {
	f := e.ttyOut
	if e.noPager || e.pager != nil || f == nil {
		return
	}
	dir := e.dir
	if dir == "" {
		dir = "."
	}
	cmd := exec.Command("git", "var", "GIT_PAGER")
	cmd.Dir = dir
	out, err := cmd.Output()
	pager := strings.TrimSpace(string(out))
	if err != nil || pager == "" || pager == "cat" {
		return
	}
	p := exec.Command("sh", "-c", pager)
	p.Stdout, p.Stderr = f, os.Stderr
	p.Env = os.Environ()
	if os.Getenv("LESS") == "" {
		p.Env = append(p.Env, "LESS=FRX")
	}
	if os.Getenv("LV") == "" {
		p.Env = append(p.Env, "LV=-c")
	}
	w, err := p.StdinPipe()
	if err != nil {
		return
	}
	if err := p.Start(); err != nil {
		return
	}
	e.pager, e.pagerIn, e.stdout = p, w, newTermWriter(w)
}

// endPage lets the pager show the end of the output and waits for the
// user to leave it.
func (e *env) endPage() {
	if e.pager == nil {
		return
	}
	e.pagerIn.Close()
	e.pager.Wait()
	e.pager = nil
}
