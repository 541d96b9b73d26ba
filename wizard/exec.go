package wizard

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"mswizard/wizard/lines"
)

// Command is one external program the wizard runs: an installer, a start or stop
// script, a cluster command. Secrets never travel in Args (they reach a child through
// Stdin or a 0600 file), so a Command's String is safe to journal and print.
type Command struct {
	Path    string
	Args    []string
	Dir     string
	Env     []string      // added to the wizard's own environment
	Stdin   []byte        // fed to the program, e.g. the installer's answers
	Timeout time.Duration // upper bound on the run; 0 means DefaultTimeout
	Output  io.Writer     // optional live copy of combined stdout+stderr; a lines.Flusher is flushed when the output ends
}

// DefaultTimeout bounds a command that names no timeout of its own. The Sun Cluster
// 2.2 data service allows a probe 660 s (seed 004); a stop or start script that takes
// longer than this is treated as hung.
const DefaultTimeout = 10 * time.Minute

// Argv is the program and its arguments.
func (c Command) Argv() []string { return append([]string{c.Path}, c.Args...) }

// String renders the command as a shell-quoted line, the form plans and journals show.
func (c Command) String() string { return ShellQuote(c.Argv()...) }

// Result is the evidence a finished command leaves behind.
type Result struct {
	Node     string        `json:"node,omitempty"` // the node it ran on, when not the control host's own Execer
	Argv     []string      `json:"argv"`
	ExitCode int           `json:"exit_code"`
	Tail     string        `json:"output_tail,omitempty"` // the last OutputTailBytes of combined output
	Duration time.Duration `json:"duration_ns"`
}

// OutputTailBytes is how much of a command's output a receipt keeps.
const OutputTailBytes = 4096

// Execer runs external commands. Tests and the dry-run planner never need a fake:
// plans carry Commands, and only Do runs them.
type Execer interface {
	Run(ctx context.Context, c Command) (Result, error)
}

// ExitError reports a command that ran and exited non-zero.
type ExitError struct {
	Result Result
}

func (e *ExitError) Error() string {
	msg := fmt.Sprintf("%s: exit status %d", ShellQuote(e.Result.Argv...), e.Result.ExitCode)
	if t := lastLine(e.Result.Tail); t != "" {
		msg += ": " + t
	}
	return msg
}

func lastLine(s string) string {
	s = strings.TrimRight(s, "\n")
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return s
}

// OSExecer runs commands as child processes of the wizard.
//
// A running stop script or installer is allowed to finish: cancelling ctx does not
// kill it (DESIGN.md house rule 2; an installer killed half-way leaves a server root
// that is neither version). Only the command's own Timeout ends it, first with SIGTERM
// to its process group and after a grace period with SIGKILL. Each child runs in its
// own process group so a Ctrl-C at the terminal reaches the wizard alone.
type OSExecer struct {
	Grace time.Duration // between SIGTERM and SIGKILL on timeout; 0 means 10 s
}

func (x OSExecer) Run(ctx context.Context, c Command) (Result, error) {
	res := Result{Argv: c.Argv()}
	if err := ctx.Err(); err != nil {
		return res, fmt.Errorf("%s: not started: %w", c, err)
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	grace := x.Grace
	if grace <= 0 {
		grace = 10 * time.Second
	}
	cmd := exec.Command(c.Path, c.Args...)
	cmd.Dir = c.Dir
	cmd.Env = append(os.Environ(), c.Env...)
	if c.Stdin != nil {
		cmd.Stdin = bytes.NewReader(c.Stdin)
	}
	tail := &tailBuffer{max: OutputTailBytes}
	var out io.Writer = tail
	if c.Output != nil {
		out = io.MultiWriter(tail, c.Output)
	}
	// The child writes into an unlinked file, not a pipe: if the wizard dies
	// (kill -9, a closed terminal), a pipe would kill an installer half-way with
	// SIGPIPE on its next line; a file lets it finish. The wizard follows the
	// file as the child writes it.
	outFile, err := os.CreateTemp("", "mswizard-output-")
	if err != nil {
		return res, fmt.Errorf("%s: output file: %w", c, err)
	}
	_ = os.Remove(outFile.Name())
	defer outFile.Close()
	cmd.Stdout, cmd.Stderr = outFile, outFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return res, fmt.Errorf("%s: %w", c, err)
	}
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	done := make(chan error, 1)
	go func() {
		// pread leaves the file offset, which the child's writes share, alone.
		var off int64
		buf := make([]byte, 32<<10)
		follow := func() {
			for {
				n, _ := outFile.ReadAt(buf, off)
				if n > 0 {
					_, _ = out.Write(buf[:n])
					off += int64(n)
				}
				if n < len(buf) {
					return
				}
			}
		}
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case err := <-waited:
				follow()
				// The output ended: a line writer hands over its last line.
				if f, ok := c.Output.(lines.Flusher); ok {
					f.Flush()
				}
				done <- err
				return
			case <-tick.C:
				follow()
			}
		}
	}()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	timedOut := false
	select {
	case err = <-done:
	case <-timer.C:
		timedOut = true
		err = StopGroup(cmd.Process.Pid, done, grace)
	}
	res.Duration = time.Since(start)
	res.Tail = tail.String()
	if cmd.ProcessState != nil {
		res.ExitCode = cmd.ProcessState.ExitCode()
	}
	if timedOut {
		return res, fmt.Errorf("%s: timed out after %s", c, timeout)
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return res, &ExitError{Result: res}
	}
	if err != nil {
		return res, fmt.Errorf("%s: %w", c, err)
	}
	return res, nil
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	max int
	buf []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.buf = append(t.buf, p...)
	if len(t.buf) > 2*t.max {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-t.max:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	if len(t.buf) > t.max {
		return string(t.buf[len(t.buf)-t.max:])
	}
	return string(t.buf)
}

// ShellQuote renders argv as a POSIX shell would need it typed.
func ShellQuote(argv ...string) string {
	var b strings.Builder
	for i, a := range argv {
		if i > 0 {
			b.WriteByte(' ')
		}
		if a != "" && strings.IndexFunc(a, needsQuote) < 0 {
			b.WriteString(a)
			continue
		}
		b.WriteByte('\'')
		b.WriteString(strings.ReplaceAll(a, "'", `'\''`))
		b.WriteByte('\'')
	}
	return b.String()
}

func needsQuote(r rune) bool {
	switch {
	case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		return false
	}
	return !strings.ContainsRune("-_./=:,+@%", r)
}

// StopGroup ends the process group led by pid (a child started with Setpgid):
// SIGTERM to the group, then SIGKILL once grace has passed without done
// delivering the child's Wait result, which it returns.
func StopGroup(pid int, done <-chan error, grace time.Duration) error {
	_ = syscall.Kill(-pid, syscall.SIGTERM)
	select {
	case err := <-done:
		return err
	case <-time.After(grace):
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		return <-done
	}
}
