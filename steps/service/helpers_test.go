package service

import (
	"bytes"
	"context"
	"encoding/binary"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"mswizard/steps/host"
)

// Test helpers. The package itself judges services by the process table and
// the socket table; tests may connect and read pid records of their own.

func writeFiles(t *testing.T, files map[string]string) {
	t.Helper()
	for p, content := range files {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// MessagingServices of a host with a watcher.
func MessagingServices() []string { return host.Messaging(true) }

func portOpen(ctx context.Context, addr string, port int) bool {
	if port <= 0 {
		return false
	}
	d := net.Dialer{Timeout: 500 * time.Millisecond}
	c, err := d.DialContext(ctx, "tcp", net.JoinHostPort(addr, strconv.Itoa(port)))
	if err != nil {
		return false
	}
	c.Close()
	return true
}

type testProc struct {
	Pid     int
	Cmdline []string
}

func readProc(pid int) (testProc, bool) {
	dir := filepath.Join("/proc", strconv.Itoa(pid))
	stat, err := os.ReadFile(filepath.Join(dir, "stat"))
	if err != nil {
		return testProc{}, false
	}
	if i := bytes.LastIndexByte(stat, ')'); i >= 0 && i+2 < len(stat) && stat[i+2] == 'Z' {
		return testProc{}, false
	}
	p := testProc{Pid: pid}
	if b, err := os.ReadFile(filepath.Join(dir, "cmdline")); err == nil {
		if b = bytes.TrimRight(b, "\x00"); len(b) > 0 {
			p.Cmdline = strings.Split(string(b), "\x00")
		}
	}
	return p, true
}

// superviseStatus reads daemontools' supervise/status: the pid
// little-endian in bytes 12..15 (0 when down), the want byte at 17.
func superviseStatus(dir string) (pid int, want byte, ok bool) {
	b, err := os.ReadFile(filepath.Join(dir, "supervise", "status"))
	if err != nil || len(b) < 18 {
		return 0, 0, false
	}
	return int(binary.LittleEndian.Uint32(b[12:16])), b[17], true
}
