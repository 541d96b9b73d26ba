package host

// The installer's supervisor: a small process of its own that holds the
// pseudo-terminal `setup -k` runs on, answers its prompts, keeps the
// transcript and records how the run ended.
//
// Why a process of its own (docs/host-facts.md, row F-INS-009): when the
// last holder of a pty's master side closes it, the kernel hangs up the slave
// and sends SIGHUP to the installer's session — an installer whose master were
// held by the wizard would die with a killed wizard, half-way, and its reads
// and writes would fail from then on. The wizard therefore starts the
// supervisor (`mswizard installer-pty SPEC`) in its own process group, writes
// the secrets to its stdin once, and follows its output through a file, never
// a pipe (wizard.OSExecer). A wizard killed with SIGKILL, or whose terminal
// closes, leaves the supervisor — which ignores SIGHUP and SIGINT — answering
// and the installer running to its end; the rerun finds the outcome in
// installer.result.json, or the supervisor still holding installer.lock, and
// decides from that and the host's own version (never re-running blindly).
// Killing the supervisor itself ends the installer by SIGHUP, as closing the
// terminal of an interactive `setup -k` would: that run is in doubt and is
// decided from the evidence like any other.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"

	"mswizard/internal/atomicfile"
)

// InstallerSpec is what the supervisor is told, as a 0600 JSON file in the
// state directory. It holds no secret: secret answers come on stdin.
type InstallerSpec struct {
	Nonce         string        `json:"nonce"`
	Argv          []string      `json:"argv"`
	Env           []string      `json:"env,omitempty"`
	Dir           string        `json:"dir,omitempty"`
	Prompts       []PromptSpec  `json:"prompts"`
	Settle        time.Duration `json:"settle_ns,omitempty"`
	PromptTimeout time.Duration `json:"prompt_timeout_ns,omitempty"`
	QuietTimeout  time.Duration `json:"quiet_timeout_ns,omitempty"`
	Transcript    string        `json:"transcript"`
	Result        string        `json:"result"`
	Lock          string        `json:"lock"`
	// HostLock is the server root's installer record, beside the server
	// root: the supervisor holds a lock on it too, so a run of another state
	// directory sees the installer running.
	HostLock string `json:"host_lock,omitempty"`
}

// PromptSpec is a Prompt as the spec file carries it: the pattern as text,
// a secret answer left out.
type PromptSpec struct {
	Prompt
	Pattern string `json:"pattern"`
}

// SpecPrompts turns the table into its spec form and the secret answers,
// keyed by row name, that go to the supervisor's stdin.
func SpecPrompts(ps []Prompt) ([]PromptSpec, map[string]string) {
	out := make([]PromptSpec, len(ps))
	secrets := map[string]string{}
	for i, p := range ps {
		out[i] = PromptSpec{Prompt: p, Pattern: p.Match.String()}
		if p.Secret {
			if p.Answer != "" {
				secrets[p.Name] = p.Answer
			}
			out[i].Answer = ""
		}
	}
	return out, secrets
}

// InstallerResult is how a supervised installer run ended, written atomically
// to InstallerSpec.Result when the run is over.
type InstallerResult struct {
	Nonce    string    `json:"nonce"`
	Pid      int       `json:"pid"`
	Started  time.Time `json:"started"`
	Ended    time.Time `json:"ended"`
	ExitCode int       `json:"exit_code"` // -1 when killed by a signal
	Signal   string    `json:"signal,omitempty"`
	Outcome  Outcome   `json:"outcome"`
	Error    string    `json:"error,omitempty"`
}

// ReadInstallerResult reads a result file; a missing file gives (nil, nil).
func ReadInstallerResult(path string) (*InstallerResult, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var r InstallerResult
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &r, nil
}

// SupervisorRunning reports whether a supervisor holds the lock file now
// (an fcntl write lock, released by the kernel when its holder dies).
func SupervisorRunning(lock string) (bool, int, error) {
	f, err := os.OpenFile(lock, os.O_RDWR, 0)
	if errors.Is(err, os.ErrNotExist) {
		return false, 0, nil
	}
	if err != nil {
		return false, 0, err
	}
	defer f.Close()
	lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: 0}
	if err := unix.FcntlFlock(f.Fd(), unix.F_GETLK, &lk); err != nil {
		return false, 0, fmt.Errorf("%s: %w", lock, err)
	}
	if lk.Type == unix.F_UNLCK {
		return false, 0, nil
	}
	return true, int(lk.Pid), nil
}

// Supervise is the supervisor program: it runs the installer of the spec at
// specPath on a pseudo-terminal, answers its prompts, tees the redacted
// transcript to stdout, writes the result and returns the exit code (0 the
// installer exited 0; 3 the dialogue stopped at a prompt; 4 another
// supervisor runs; 1 otherwise).
func Supervise(ctx context.Context, specPath string, stdin io.Reader, stdout io.Writer) int {
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stdout, "installer-pty: "+format+"\n", a...)
		return 1
	}
	b, err := os.ReadFile(specPath)
	if err != nil {
		return fail("%v", err)
	}
	var spec InstallerSpec
	if err := json.Unmarshal(b, &spec); err != nil {
		return fail("%s: %v", specPath, err)
	}
	if len(spec.Argv) == 0 {
		return fail("%s names no installer", specPath)
	}
	secrets := map[string]string{}
	if stdin != nil {
		sb, err := io.ReadAll(stdin)
		if err != nil {
			return fail("read the secrets: %v", err)
		}
		if len(sb) > 0 {
			if err := json.Unmarshal(sb, &secrets); err != nil {
				return fail("read the secrets: %v", err)
			}
		}
	}
	prompts := make([]Prompt, len(spec.Prompts))
	var redact []string
	for i, ps := range spec.Prompts {
		re, err := regexp.Compile(ps.Pattern)
		if err != nil {
			return fail("prompt %s: %v", ps.Name, err)
		}
		p := ps.Prompt
		p.Match = re
		if p.Secret {
			p.Answer = secrets[p.Name]
			if p.Answer != "" {
				redact = append(redact, p.Answer)
			}
		}
		prompts[i] = p
	}

	// One supervisor per state directory; the lock dies with its holder.
	lf, err := os.OpenFile(spec.Lock, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fail("%v", err)
	}
	defer lf.Close()
	lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: 0}
	if err := unix.FcntlFlock(lf.Fd(), unix.F_SETLK, &lk); err != nil {
		fmt.Fprintf(stdout, "installer-pty: another installer run holds %s\n", spec.Lock)
		return 4
	}
	if spec.HostLock != "" {
		hf, err := os.OpenFile(spec.HostLock, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return fail("%v", err)
		}
		defer hf.Close()
		hk := unix.Flock_t{Type: unix.F_WRLCK, Whence: 0}
		if err := unix.FcntlFlock(hf.Fd(), unix.F_SETLK, &hk); err != nil {
			fmt.Fprintf(stdout, "installer-pty: another installer run holds %s\n", spec.HostLock)
			return 4
		}
	}

	// A closed terminal or Ctrl-C of the wizard must not end the dialogue;
	// SIGTERM (the command's own timeout) does, ending the installer too.
	signal.Ignore(syscall.SIGHUP, syscall.SIGINT)
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM)
	defer stop()

	tf, err := os.OpenFile(spec.Transcript, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fail("%v", err)
	}
	defer tf.Close()
	out := io.MultiWriter(tf, stdoutWriter{stdout})
	res := InstallerResult{Nonce: spec.Nonce, Started: time.Now().UTC(), ExitCode: -1}
	fmt.Fprintf(out, "[mswizard] %s: %s on a pseudo-terminal\n", res.Started.Format(time.RFC3339), strings.Join(spec.Argv, " "))

	cmd := exec.Command(spec.Argv[0], spec.Argv[1:]...)
	cmd.Env = append(os.Environ(), spec.Env...)
	cmd.Dir = spec.Dir
	ptmx, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 24, Cols: 80})
	if err != nil {
		res.Error = err.Error()
		_ = writeResult(spec.Result, res)
		return fail("start %s: %v", spec.Argv[0], err)
	}
	res.Pid = cmd.Process.Pid
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(exited) }()

	d := &Dialogue{Prompts: prompts, Settle: spec.Settle, PromptTimeout: spec.PromptTimeout, QuietTimeout: spec.QuietTimeout, Transcript: out, Secrets: redact}
	oc, derr := d.Run(ctx, ptmx, ptmx, exited)
	res.Outcome = oc
	if derr != nil {
		res.Error = derr.Error()
	}
	if oc.Stopped() || derr != nil {
		endInstaller(ptmx, cmd.Process.Pid, exited)
	}
	<-exited
	_ = ptmx.Close()
	res.Ended = time.Now().UTC()
	if ps := cmd.ProcessState; ps != nil {
		res.ExitCode = ps.ExitCode()
		if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			res.Signal = ws.Signal().String()
		}
	} else if waitErr != nil && res.Error == "" {
		res.Error = waitErr.Error()
	}
	fmt.Fprintf(out, "[mswizard] %s: installer ended: exit %d%s (%s)\n", res.Ended.Format(time.RFC3339), res.ExitCode, sigNote(res.Signal), oc.Kind)
	_ = tf.Sync()
	if err := writeResult(spec.Result, res); err != nil {
		return fail("%v", err)
	}
	switch {
	case oc.Stopped():
		return 3
	case derr == nil && res.ExitCode == 0:
		return 0
	}
	return 1
}

func sigNote(s string) string {
	if s == "" {
		return ""
	}
	return ", " + s
}

// endInstaller ends an installer stopped at a prompt: the terminal is hung up
// (SIGHUP to its session), then SIGTERM and, after a grace, SIGKILL to its
// process group (pty.Start made it a session and group leader).
func endInstaller(ptmx *os.File, pid int, exited <-chan struct{}) {
	_ = ptmx.Close()
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL} {
		select {
		case <-exited:
			return
		case <-time.After(2 * time.Second):
		}
		_ = syscall.Kill(-pid, sig)
	}
}

func writeResult(path string, r InstallerResult) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	return atomicfile.WriteFile(path, append(b, '\n'), 0o600)
}

// stdoutWriter never fails: the wizard reading the live copy may be gone, and
// the transcript must still be written.
type stdoutWriter struct{ w io.Writer }

func (s stdoutWriter) Write(p []byte) (int, error) {
	_, _ = s.w.Write(p)
	return len(p), nil
}

// isEIO reports the error a pty master's read returns once the installer's
// side is closed (Linux).
func isEIO(err error) bool { return errors.Is(err, syscall.EIO) }
