package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"mswizard/fixtures/twonode"
)

// serviceguardDemo brings up seed 002's two-node world (two real sshd, a
// shared disk, the Serviceguard and Groupmax stand-ins) and writes an answers
// file for the groupmax-serviceguard runbook, or stops a world in dir.
func serviceguardDemo(ctx context.Context, dir string, existing, stop bool, out io.Writer) error {
	if stop {
		if dir == "" {
			return usagef("demo --stop needs --dir DIR")
		}
		if err := twonode.DownDir(ctx, dir); err != nil {
			return err
		}
		fmt.Fprintf(out, "stopped both nodes of the two-node world in %s\n", dir)
		return nil
	}
	if dir == "" {
		d, err := os.MkdirTemp("", "mswizard-serviceguard-")
		if err != nil {
			return err
		}
		dir = d
	}
	dir, _ = filepath.Abs(dir)
	w, err := twonode.Up(ctx, twonode.Options{Dir: dir, Existing: existing})
	if err != nil {
		return err
	}
	setup := "new"
	if existing {
		setup = "existing"
	}
	inf := filepath.Join(dir, "install.inf")
	if err := os.WriteFile(inf, []byte(w.Answers(filepath.Join(dir, "state"), setup, true)), 0o600); err != nil {
		w.Down()
		return err
	}
	fmt.Fprintf(out, "two-node world in %s\n", dir)
	for _, n := range w.Nodes {
		fmt.Fprintf(out, "  %s: sshd on %s, its tree %s (seen as %s on the node)\n", n.Name, n.Addr(), n.Root, w.NodeRoot)
	}
	fmt.Fprintf(out, "  shared disk: %s (who mounted it when: %s)\n  answers:     %s (setup = %s)\n", w.DiskImage(), w.DiskLog(), inf, setup)
	fmt.Fprintf(out, "next:\n  mswizard run groupmax-serviceguard --answers %s --dry-run\n  mswizard run groupmax-serviceguard --answers %s\n  mswizard status --answers %s\n  mswizard backout --answers %s --yes\n  mswizard demo --world serviceguard --stop --dir %s\n", inf, inf, inf, inf, dir)
	return nil
}
