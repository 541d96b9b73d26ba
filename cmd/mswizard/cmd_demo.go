package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"mswizard/fixtures/host"
	"mswizard/fixtures/layout"
	"mswizard/fixtures/world"
)

// demoCmd builds a simulated Messaging Server host — a real OpenLDAP directory,
// the 5.1 server root, real processes behind its scripts — and runs the wizard on
// it.
func demoCmd() *cobra.Command {
	var dir, regime, worldName string
	var noTUI, stop, colocated bool
	var seed int64
	cmd := &cobra.Command{
		Use:   "demo [--dir DIR] [--no-tui] [--stop]",
		Short: "Build a simulated Messaging Server host and open the wizard on it",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, out := cmd.Context(), cmd.OutOrStdout()
			if worldName == "qmail" {
				if dir == "" && !stop {
					d, err := os.MkdirTemp("", "mswizard-qmail-")
					if err != nil {
						return err
					}
					dir = d
				}
				if dir == "" {
					return usagef("demo --stop needs --dir DIR")
				}
				dir, _ = filepath.Abs(dir)
				return qmailDemo(ctx, dir, stop, out)
			} else if worldName == "serviceguard" || worldName == "serviceguard-existing" {
				return serviceguardDemo(ctx, dir, worldName == "serviceguard-existing", stop, out)
			} else if worldName != "messaging" {
				return usagef("--world %q: messaging, qmail, serviceguard or serviceguard-existing", worldName)
			}
			if stop {
				if dir == "" {
					return usagef("demo --stop needs --dir DIR")
				}
				if err := host.Down(ctx, dir); err != nil {
					return err
				}
				fmt.Fprintf(out, "stopped everything the demo world in %s started\n", dir)
				return nil
			}
			if dir == "" {
				d, err := os.MkdirTemp("", "mswizard-demo-")
				if err != nil {
					return err
				}
				dir = d
			}
			dir, _ = filepath.Abs(dir)
			exe, err := os.Executable()
			if err != nil {
				return err
			}
			h, err := host.Up(ctx, host.Options{Dir: dir, SimExe: exe, Regime: regime, Seed: seed, Scale: world.Small, ColocatedDS: colocated})
			if err != nil {
				return err
			}
			w := layout.Default(dir)
			fmt.Fprintf(out, "demo world in %s\n  server root: %s\n  directory:   %s (%s)\n  answers:     %s\n",
				dir, w.ServerRoot(), h.LDAP.URL, h.LDAP.RootDN, w.InstallInf())
			if colocated {
				fmt.Fprintf(out, "  co-located:  %s (start-slapd, stop-slapd, db2ldif, ldif2db)\n", h.LDAP.Dir)
			}
			fmt.Fprintf(out, "next:\n  mswizard plan --answers %s\n  mswizard upgrade --answers %s\n  mswizard demo --stop --dir %s\n", w.InstallInf(), w.InstallInf(), dir)
			if noTUI || !useTUI(&common{output: "text"}) {
				return nil
			}
			c := &common{answersPath: w.InstallInf(), output: "text"}
			return openTUI(ctx, c)
		},
	}
	f := cmd.Flags()
	f.StringVar(&dir, "dir", "", "directory for the world (default: a new temporary directory)")
	f.StringVar(&regime, "regime", "plain", "service regime: plain, daemontools, sc2.2, sc3, veritas")
	f.StringVar(&worldName, "world", "messaging", "which world: messaging (the Messaging Server upgrade), qmail (the qmail-daemontools runbook), serviceguard or serviceguard-existing (seed 002's two-node cluster, new or existing environment)")
	f.BoolVar(&noTUI, "no-tui", false, "leave the world running and print where install.inf is")
	f.BoolVar(&stop, "stop", false, "stop everything the world in --dir started")
	f.Int64Var(&seed, "seed", 1, "world seed (same seed, same world)")
	f.BoolVar(&colocated, "colocated-ds", false, "run the directory from inside the server root (SERVER-ROOT/slapd-ID, the usual iPlanet layout), with its own db2ldif, ldif2db, start-slapd and stop-slapd")
	return cmd
}
