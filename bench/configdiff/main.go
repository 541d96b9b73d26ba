// Command configdiff is the bench driver for steps/configdiff: "gen DIR N
// PERMILLE" writes DIR/a.conf and DIR/b.conf (N lines, PERMILLE/1000 of them
// changed), and "diff A B" prints configdiff.Unified of two files, the way
// `diff -u A B` would.
package main

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"

	"mswizard/steps/configdiff"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "configdiff:", err)
		os.Exit(2)
	}
}

func run(args []string) error {
	switch {
	case len(args) == 4 && args[0] == "gen":
		n, err := strconv.Atoi(args[2])
		if err != nil {
			return fmt.Errorf("gen: line count: %w", err)
		}
		pm, err := strconv.Atoi(args[3])
		if err != nil {
			return fmt.Errorf("gen: permille: %w", err)
		}
		return gen(args[1], n, pm)
	case len(args) == 3 && args[0] == "diff":
		a, err := os.ReadFile(args[1])
		if err != nil {
			return err
		}
		b, err := os.ReadFile(args[2])
		if err != nil {
			return err
		}
		out := configdiff.Unified(a, b, args[1], args[2])
		if _, err := os.Stdout.Write(out); err != nil {
			return err
		}
		if len(out) > 0 {
			os.Exit(1) // as diff(1): differences found
		}
		return nil
	}
	return fmt.Errorf("usage: configdiff gen DIR LINES PERMILLE | configdiff diff A B")
}

// gen writes a config-like file of option lines grouped in sections with
// comments and blank lines (which repeat, as in real files), and a copy in
// which about permille/1000 of the lines are changed, deleted or inserted.
func gen(dir string, n, permille int) error {
	r := rand.New(rand.NewPCG(42, uint64(n)))
	lines := make([]string, 0, n)
	for i := 0; len(lines) < n; i++ {
		switch {
		case i%40 == 0:
			lines = append(lines, "", fmt.Sprintf("[SERVICE=svc%d]", i/40), "! defaults for this service")
		case i%7 == 0:
			lines = append(lines, "! ----")
		default:
			lines = append(lines, fmt.Sprintf("service.s%d.option%d = \"%d\"", i/40, i%40, r.IntN(100000)))
		}
	}
	lines = lines[:n]
	changed := make([]string, 0, n+n/100)
	for i, l := range lines {
		if r.IntN(1000) >= permille {
			changed = append(changed, l)
			continue
		}
		switch r.IntN(4) {
		case 0: // deleted
		case 1: // inserted after
			changed = append(changed, l, fmt.Sprintf("local.added%d = yes", i))
		default: // value changed
			changed = append(changed, fmt.Sprintf("%s ! edited %d", l, i))
		}
	}
	if err := write(filepath.Join(dir, "a.conf"), lines); err != nil {
		return err
	}
	return write(filepath.Join(dir, "b.conf"), changed)
}

func write(path string, lines []string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	for _, l := range lines {
		w.WriteString(l)
		w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
