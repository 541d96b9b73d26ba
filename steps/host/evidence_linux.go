//go:build linux

package host

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// SystemEvidence reads /proc: every process's cmdline and exe, and the
// listening sockets of /proc/net/tcp and /proc/net/tcp6 (host-facts:
// F-PROC-001, F-PROC-002).
func SystemEvidence() Evidence {
	return Evidence{Procs: procFS, Listeners: procNet, Source: "/proc/PID/{cmdline,exe}, /proc/net/tcp, /proc/net/tcp6"}
}

func procFS(ctx context.Context) ([]Proc, error) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("process table: %w", err)
	}
	var out []Proc
	buf := make([]byte, 64<<10)
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if p, ok := readProc(pid, buf); ok {
			out = append(out, p)
		}
	}
	return out, ctx.Err()
}

// readProc reads /proc/PID; ok is false when no such process lives. A zombie
// counts as gone: it holds no port and no lock. A process with a command
// line is no zombie (a zombie has no memory left to show one, proc(5)), so
// only a process without one has its stat read to tell.
func readProc(pid int, buf []byte) (Proc, bool) {
	dir := "/proc/" + strconv.Itoa(pid)
	p := Proc{Pid: pid}
	b, err := readProcFile(dir+"/cmdline", buf)
	if err != nil {
		return Proc{}, false // gone meanwhile
	}
	if b = bytes.TrimRight(b, "\x00"); len(b) > 0 {
		p.Args = strings.Split(string(b), "\x00")
	} else {
		stat, err := readProcFile(dir+"/stat", buf)
		if err != nil {
			return Proc{}, false
		}
		if i := bytes.LastIndexByte(stat, ')'); i >= 0 && i+2 < len(stat) && stat[i+2] == 'Z' {
			return Proc{}, false
		}
	}
	p.Exe, _ = os.Readlink(dir + "/exe")
	p.Exe = strings.TrimSuffix(p.Exe, " (deleted)")
	return p, true
}

// readProcFile reads a small /proc file into buf with plain open/read/close.
// Written by hand because os.ReadFile costs several more system calls a file
// (fstat, the poller's epoll_ctl and fcntl) and the wizard reads two files a
// process for every process each time it proves a service down or up, every
// 100 ms while it waits. A file longer than buf is cut, which only a command
// line of more than 64 KiB would be.
func readProcFile(path string, buf []byte) ([]byte, error) {
	fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer syscall.Close(fd)
	n := 0
	for n < len(buf) {
		m, err := syscall.Read(fd, buf[n:])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return nil, err
		}
		if m == 0 {
			break
		}
		n += m
	}
	return buf[:n], nil
}

// ProcessGroups reads every live process with its process group from
// /proc/PID/stat and /proc/PID/cmdline (proc(5); host-facts: F-PROC-001);
// zombies are left out. An error means the table could not be read: a caller
// never takes it for "no such process".
func ProcessGroups(ctx context.Context) ([]GroupedProc, error) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("process table: %w", err)
	}
	var out []GroupedProc
	buf := make([]byte, 64<<10)
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		dir := "/proc/" + e.Name()
		stat, err := readProcFile(dir+"/stat", buf)
		if err != nil {
			continue // gone meanwhile
		}
		// The fields after the parenthesised name: state, ppid, pgrp.
		i := bytes.LastIndexByte(stat, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(stat[i+1:]))
		if len(f) < 3 || f[0] == "Z" {
			continue
		}
		pgid, err := strconv.Atoi(f[2])
		if err != nil {
			continue
		}
		p := GroupedProc{Proc: Proc{Pid: pid}, Pgid: pgid}
		if b, err := readProcFile(dir+"/cmdline", buf); err == nil {
			if b = bytes.TrimRight(b, "\x00"); len(b) > 0 {
				p.Args = strings.Split(string(b), "\x00")
			}
		}
		out = append(out, p)
	}
	return out, ctx.Err()
}

func procNet(ctx context.Context) ([]Listener, error) {
	var out []Listener
	read := 0
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(f)
		if errors.Is(err, os.ErrNotExist) && strings.HasSuffix(f, "6") {
			continue // a kernel without IPv6
		}
		if err != nil {
			return nil, fmt.Errorf("sockets: %w", err)
		}
		ls, err := ParseProcNetTCP(string(b))
		if err != nil {
			return nil, fmt.Errorf("sockets: %s: %w", f, err)
		}
		out = append(out, ls...)
		read++
	}
	if read == 0 {
		return nil, errors.New("sockets: /proc/net/tcp unreadable")
	}
	return out, ctx.Err()
}
