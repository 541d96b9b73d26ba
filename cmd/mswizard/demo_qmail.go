package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"

	"mswizard/fixtures/qmail"
)

// qmailDemo builds a qmail world in dir (rc-started qmail, svscan on its scan
// directory) and writes the answers for the qmail-daemontools runbook.
func qmailDemo(ctx context.Context, dir string, stop bool, out io.Writer) error {
	if stop {
		w, err := qmail.Open(filepath.Join(dir, "root"))
		if err != nil {
			return err
		}
		w.Stop()
		fmt.Fprintf(out, "stopped everything the qmail world in %s started\n", dir)
		return nil
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	// The world's users (nobody for the logs and qmail-smtpd) must reach the
	// stand-ins and the world: a copy of the wizard beside it, all 0755.
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return err
	}
	bin := filepath.Join(dir, "mswizard")
	data, err := os.ReadFile(exe)
	if err != nil {
		return err
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		return err
	}
	smtpPort, pop3Port := freeLowPort(17600), freeLowPort(18600)
	w, err := qmail.Build(filepath.Join(dir, "root"), qmail.Options{Exe: bin, SMTPPort: smtpPort, POP3Port: pop3Port})
	if err != nil {
		return err
	}
	if err := w.StartSvscan(); err != nil {
		return err
	}
	if err := w.StartRC(ctx); err != nil {
		w.Stop()
		return err
	}
	inf := filepath.Join(dir, "qmail.inf")
	if err := w.Answers(inf, filepath.Join(dir, "state"), "3s"); err != nil {
		return err
	}
	fmt.Fprintf(out, "qmail world in %s\n  root:    %s (qmail started by %s, svscan on %s)\n  smtp:    127.0.0.1:%d   pop3: 127.0.0.1:%d\n  answers: %s\n",
		dir, w.Root, w.RCScript(), w.ServiceDir(), smtpPort, pop3Port, inf)
	fmt.Fprintf(out, "next:\n  mswizard run qmail-daemontools --answers %s --dry-run\n  mswizard run qmail-daemontools --answers %s\n  mswizard backout --answers %s --yes\n  mswizard demo --world qmail --stop --dir %s\n", inf, inf, inf, dir)
	return nil
}

// freeLowPort returns the first port from p on that nothing listens on; the
// world's servers stay below the ephemeral range (README, "What the code
// taught us").
func freeLowPort(p int) int {
	for ; p < 32000; p++ {
		if l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p)); err == nil {
			l.Close()
			return p
		}
	}
	return p
}
