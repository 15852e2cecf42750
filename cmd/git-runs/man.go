package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/alecthomas/kong"
)

type manCmd struct {
	Dir string `arg:"" optional:"" name:"DIR" help:"Directory to write the pages into, created if need be (default: print git-runs.1 to standard output)."`
}

func (c *manCmd) Help() string {
	return `Writes the manual pages of git-runs, in roff, made from the same words
as --help: git-runs.1, and one page per command (git-runs-ls.1,
git-runs-remote-setup.1, …). Put them where man looks, and
"git runs --help" (which git turns into "git help runs") and
"man git-runs-ls" find them:

  git runs man ~/.local/share/man/man1
  git runs man | man -l -

Pages already in DIR are replaced. The paths written are printed, one a
line.`
}

func (c *manCmd) Run(e *env, k *kong.Context) error {
	pages := manPages(k.Model.Node)
	if c.Dir == "" {
		_, err := e.stdout.Write([]byte(pages[0].text))
		return err
	}
	if err := os.MkdirAll(c.Dir, 0o755); err != nil {
		return fmt.Errorf("create manual directory: %w", err)
	}
	for _, p := range pages {
		path := filepath.Join(c.Dir, p.name+".1")
		if err := os.WriteFile(path, []byte(p.text), 0o644); err != nil {
			return fmt.Errorf("write manual page: %w", err)
		}
		fmt.Fprintln(e.stdout, path)
	}
	return nil
}

// manPage is one page: its name (git-runs-ls) and roff text.
type manPage struct{ name, text string }

// manPages makes the page of root and of every command below it, root's
// first.
func manPages(root *kong.Node) []manPage {
	pages := []manPage{{"git-runs", rootPage(root)}}
	var walk func(n *kong.Node)
	walk = func(n *kong.Node) {
		for _, c := range n.Children {
			if c.Type != kong.CommandNode || c.Hidden {
				continue
			}
			pages = append(pages, manPage{pageName(c), commandPage(c)})
			walk(c)
		}
	}
	walk(root)
	return pages
}

// pageName is the page of a command: git-runs-remote-setup.
func pageName(n *kong.Node) string {
	var parts []string
	for ; n != nil && n.Parent != nil; n = n.Parent {
		parts = append([]string{n.Name}, parts...)
	}
	return "git-runs-" + strings.Join(parts, "-")
}

// commandWords is how a command is typed: git runs remote setup.
func commandWords(n *kong.Node) string {
	return "git runs " + strings.ReplaceAll(strings.TrimPrefix(pageName(n), "git-runs-"), "-", " ")
}

func header(name, summary string) string {
	var b strings.Builder
	fmt.Fprintf(&b, ".TH %s 1 \"\" \"git-runs %s\" \"Git Runs Manual\"\n", strings.ToUpper(roffText(name)), roffText(versionString()))
	fmt.Fprintf(&b, ".SH NAME\n%s \\- %s\n", roffText(name), roffText(strings.TrimSuffix(summary, ".")))
	return b.String()
}

func rootPage(root *kong.Node) string {
	var b strings.Builder
	b.WriteString(header("git-runs", "Record machine-learning runs in your git repository"))
	b.WriteString(".SH SYNOPSIS\n.B git runs\n[\\fIOPTIONS\\fR] \\fICOMMAND\\fR [\\fIARGS\\fR]\n")
	b.WriteString(".SH DESCRIPTION\n")
	b.WriteString(roffDetail(description))
	b.WriteString(roffFlags(root.Flags))
	b.WriteString(".SH COMMANDS\n")
	for _, c := range root.Children {
		if c.Type == kong.CommandNode && !c.Hidden {
			fmt.Fprintf(&b, ".TP\n\\fB%s\\fR(1)\n%s\n", roffText(pageName(c)), roffText(c.Help))
		}
	}
	b.WriteString(".SH SEE ALSO\n\\fBgit\\fR(1), \\fBgitrevisions\\fR(7)\n")
	return b.String()
}

func commandPage(n *kong.Node) string {
	var b strings.Builder
	b.WriteString(header(pageName(n), n.Help))
	fmt.Fprintf(&b, ".SH SYNOPSIS\n.B %s\n%s\n", roffText(commandWords(n)), roffText(synopsis(n)))
	b.WriteString(".SH DESCRIPTION\n")
	b.WriteString(roffDetail(cmpOr(n.Detail, n.Help)))
	if len(n.Positional) > 0 {
		b.WriteString(".SH ARGUMENTS\n")
		for _, p := range n.Positional {
			fmt.Fprintf(&b, ".TP\n\\fI%s\\fR\n%s\n", roffText(p.Name), roffText(p.Help))
		}
	}
	b.WriteString(roffFlags(n.Flags))
	var subs []string
	for _, c := range n.Children {
		if c.Type == kong.CommandNode && !c.Hidden {
			subs = append(subs, fmt.Sprintf(".TP\n\\fB%s\\fR(1)\n%s\n", roffText(pageName(c)), roffText(c.Help)))
		}
	}
	if len(subs) > 0 {
		b.WriteString(".SH COMMANDS\n" + strings.Join(subs, ""))
	}
	b.WriteString(".SH SEE ALSO\n\\fBgit-runs\\fR(1)\n")
	return b.String()
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// synopsis is what follows the command's words: [OPTIONS] and its
// arguments, optional ones in brackets.
func synopsis(n *kong.Node) string {
	parts := []string{}
	if len(n.Flags) > 0 {
		parts = append(parts, "[OPTIONS]")
	}
	if len(n.Children) > 0 {
		parts = append(parts, "COMMAND")
	}
	for _, p := range n.Positional {
		s := p.Name
		if p.IsSlice() {
			s += " ..."
		}
		if !p.Required {
			s = "[" + s + "]"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " ")
}

// roffFlags is the OPTIONS section of flags, "" when there are none.
func roffFlags(flags []*kong.Flag) string {
	var b strings.Builder
	for _, f := range flags {
		if f.Hidden {
			continue
		}
		b.WriteString(".TP\n")
		if f.Short != 0 {
			fmt.Fprintf(&b, "\\fB\\-%c\\fR, ", f.Short)
		}
		fmt.Fprintf(&b, "\\fB\\-\\-%s\\fR", roffText(f.Name))
		if !f.IsBool() && !f.IsCounter() {
			fmt.Fprintf(&b, "=\\fI%s\\fR", roffText(f.FormatPlaceHolder()))
		}
		fmt.Fprintf(&b, "\n%s\n", roffText(f.Help))
	}
	if b.Len() == 0 {
		return ""
	}
	return ".SH OPTIONS\n" + b.String()
}

// roffDetail turns a help text into paragraphs; its indented lines, the
// examples, are kept as they are.
func roffDetail(s string) string {
	var b strings.Builder
	inExample := false
	for _, line := range strings.Split(strings.TrimSpace(s), "\n") {
		example := strings.HasPrefix(line, "  ")
		switch {
		case line == "":
			if inExample {
				b.WriteString(".fi\n.RE\n")
				inExample = false
			}
			b.WriteString(".PP\n")
			continue
		case example && !inExample:
			b.WriteString(".RS 4\n.nf\n")
			inExample = true
		case !example && inExample:
			b.WriteString(".fi\n.RE\n")
			inExample = false
		}
		if example {
			line = strings.TrimPrefix(line, "  ")
		}
		b.WriteString(roffLine(line) + "\n")
	}
	if inExample {
		b.WriteString(".fi\n.RE\n")
	}
	return b.String()
}

// roffText escapes text for roff: backslashes, and dashes so that they
// print as the hyphen-minus a reader copies into a shell.
func roffText(s string) string {
	s = strings.ReplaceAll(s, `\`, `\e`)
	return strings.ReplaceAll(s, "-", `\-`)
}

// roffLine escapes a line of text, which must not start with a
// control character.
func roffLine(s string) string {
	s = roffText(s)
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = `\&` + s
	}
	return s
}
