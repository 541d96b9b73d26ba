//go:build !linux

package host

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
)

// SystemEvidence runs `ps -e -o pid,args` and `netstat -an` (Solaris,
// illumos and the other Unix systems the product ran on; host-facts:
// F-PROC-001, F-PROC-002).
func SystemEvidence() Evidence {
	return Evidence{Procs: psTable, Listeners: netstat, Source: "ps -e -o pid,args, netstat -an"}
}

func psTable(ctx context.Context) ([]Proc, error) {
	out, err := runTool(ctx, "ps", "-e", "-o", "pid,args")
	if err != nil {
		return nil, err
	}
	return ParsePS(out)
}

// ProcessGroups runs `ps -e -o pid,pgid,args`: every process with its
// process group (host-facts: F-PROC-001). An error means the table could not
// be read: a caller never takes it for "no such process".
func ProcessGroups(ctx context.Context) ([]GroupedProc, error) {
	out, err := runTool(ctx, "ps", "-e", "-o", "pid,pgid,args")
	if err != nil {
		return nil, fmt.Errorf("process table: %w", err)
	}
	return ParsePSGroups(out)
}

func netstat(ctx context.Context) ([]Listener, error) {
	out, err := runTool(ctx, "netstat", "-an")
	if err != nil {
		return nil, err
	}
	return ParseNetstat(out), nil
}

func runTool(ctx context.Context, name string, args ...string) (string, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s: %w: %s", name, err, bytes.TrimSpace(stderr.Bytes()))
	}
	return stdout.String(), nil
}
