package steps

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"mswizard/internal/atomicfile"
	"mswizard/steps/host"
	"mswizard/wizard/journal"
)

// installerAnswersName is the 0600 copy of the answers the installer reads
// (`setup -s -f STATEDIR/install.inf.installer`): it holds the secrets written
// inline, so it lives only while an installer runs.
const installerAnswersName = "install.inf.installer"

// InstallerAnswersPath is where the installer's copy of the answers is written.
func (c *Config) InstallerAnswersPath() string {
	return filepath.Join(c.StateDir, installerAnswersName)
}

// installerProc is a live process of an installer run.
type installerProc struct {
	Pid, Pgid int
	Cmdline   string
}

// installerProcs finds the installer processes of this server root that live
// now, wherever they were started from: a process whose arguments name the
// installer's answers copy (`setup -s -f COPY`, whatever program the setup
// wrapper execs), and every process of its process group. The wizard starts
// the installer in its own process group, so a wizard killed with -9 leaves it
// running: this is how a later run finds it. The table comes from the host
// model (host.ProcessGroups: /proc on Linux, `ps -e -o pid,pgid,args`
// elsewhere); a table that cannot be read is an error, never "no installer"
// (host-facts: F-PROC-001).
func (c *Config) installerProcs(ctx context.Context, m *installerMark) ([]installerProc, error) {
	table := c.processGroups
	if table == nil {
		table = host.ProcessGroups
	}
	procs, err := table(ctx)
	if err != nil {
		return nil, fmt.Errorf("cannot tell whether an installer still runs on this server root: %w", err)
	}
	copies := []string{c.InstallerAnswersPath()}
	if m != nil && m.AnswersCopy != "" && m.AnswersCopy != copies[0] {
		copies = append(copies, m.AnswersCopy) // a run of another state directory
	}
	self := os.Getpid()
	groups := map[int]bool{}
	for _, p := range procs {
		if p.Pid != self && slices.ContainsFunc(p.Args, func(a string) bool { return slices.Contains(copies, a) }) {
			groups[p.Pgid] = true
		}
	}
	var out []installerProc
	for _, p := range procs {
		if p.Pid != self && groups[p.Pgid] && p.Pgid != self {
			out = append(out, installerProc{Pid: p.Pid, Pgid: p.Pgid, Cmdline: strings.Join(p.Args, " ")})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Pid < out[j].Pid })
	return out, nil
}

// InstallerRunningError says an installer of this server root is still at work,
// most likely outliving a wizard that was killed while it ran.
type InstallerRunningError struct {
	Procs []string
}

func (e *InstallerRunningError) Error() string {
	return "an installer is still running on this server root (" + strings.Join(e.Procs, "; ") +
		"): it outlived the wizard that started it; it is never run twice nor restored under — wait for it to exit (or stop its process group), then rerun: the wizard decides from its result"
}

// installerMark is the record of the last installer run on a server root,
// kept beside the server root (as the host-wide lock is) so that a run of
// another state directory — the journal lost, a different StateDir — finds an
// installer a killed wizard left running: it names the answers copy a silent
// installer reads, and an interactive run's supervisor holds an fcntl lock on
// it for as long as the installer runs (steps/host InstallerSpec.HostLock).
type installerMark struct {
	StateDir    string `json:"state_dir"`
	AnswersCopy string `json:"answers_copy,omitempty"`
}

// installerMarkPath is the server root's installer record, beside it.
func (c *Config) installerMarkPath() string {
	return journal.BesideServerRoot(c.Host.ServerRoot(), "installer")
}

// readInstallerMark reads the server root's installer record; nil when there
// is none (no run has started an installer on it, or no server root is known).
func (c *Config) readInstallerMark() (*installerMark, error) {
	if c.Host.ServerRoot() == "" {
		return nil, nil
	}
	b, err := os.ReadFile(c.installerMarkPath())
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cannot tell whether an installer still runs on this server root: %w", err)
	}
	var m installerMark
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("cannot tell whether an installer still runs on this server root: %s: %w", c.installerMarkPath(), err)
	}
	return &m, nil
}

// markInstallerRun records, before an installer starts, which run starts it
// (and, for a silent run, the answers copy it reads). It is written only after
// installerAlive found none running, so no live supervisor holds the file it
// replaces.
func (c *Config) markInstallerRun(answersCopy string) error {
	b, err := json.Marshal(installerMark{StateDir: c.StateDir, AnswersCopy: answersCopy})
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(c.installerMarkPath(), append(b, '\n'), 0o600)
}

// installerAlive refuses while an installer of this server root lives: a
// silent one found by its answers-copy argument (this state directory's, or
// the one the server root's installer record names), an interactive one of
// another state directory by its supervisor's lock on that record. (This
// state directory's own supervisor is checked by its lock where
// upgrade/run-installer prepares and resolves; supervisorAlive is that check
// for the other callers.)
func (c *Config) installerAlive(ctx context.Context) error {
	m, err := c.readInstallerMark()
	if err != nil {
		return err
	}
	return c.installerAliveBy(ctx, m)
}

// installerAliveBy is installerAlive with the server root's installer record
// already read.
func (c *Config) installerAliveBy(ctx context.Context, m *installerMark) error {
	ps, err := c.installerProcs(ctx, m)
	if err != nil {
		return err
	}
	if len(ps) == 0 {
		return c.markedSupervisorAlive(m)
	}
	var d []string
	for _, p := range ps {
		d = append(d, fmt.Sprintf("pid %d, process group %d: %s", p.Pid, p.Pgid, p.Cmdline))
	}
	return &InstallerRunningError{Procs: d}
}

// markedSupervisorAlive refuses while a supervisor holds the lock on the
// server root's installer record: an interactive installer of any state
// directory still runs on this server root. m is the record as
// installerAlive read it.
func (c *Config) markedSupervisorAlive(m *installerMark) error {
	if m == nil || m.StateDir == c.StateDir {
		// This state directory's own supervisor is decided by its own lock
		// where upgrade/run-installer prepares and resolves.
		return nil
	}
	running, pid, err := host.SupervisorRunning(c.installerMarkPath())
	if err != nil {
		return fmt.Errorf("cannot tell whether an installer still runs on this server root: %w", err)
	}
	if !running {
		return nil
	}
	return &InstallerRunningError{Procs: []string{fmt.Sprintf("pid %d, the supervisor of an interactive installer started by the run of state directory %s (transcript %s)", pid, m.StateDir, filepath.Join(m.StateDir, "installer.transcript"))}}
}

// RefuseAnotherRunsInstaller is checked as a run takes the server root's lock:
// an installer that the run of another state directory started, and that
// outlived its wizard, still works on the server root; nothing may stop,
// archive, install or restore under it. (This state directory's own installer
// is decided where its step resolves and retries.)
func RefuseAnotherRunsInstaller(ctx context.Context, c *Config) error {
	m, err := c.readInstallerMark()
	if err != nil || m == nil || m.StateDir == c.StateDir {
		return err
	}
	return c.installerAliveBy(ctx, m)
}

// supervisorAlive refuses while the supervisor of an interactive installer run
// (`mswizard installer-pty`) still holds its lock.
func (c *Config) supervisorAlive() error {
	running, pid, err := host.SupervisorRunning(filepath.Join(c.StateDir, "installer.lock"))
	if err != nil || !running {
		return err
	}
	return &InstallerRunningError{Procs: []string{fmt.Sprintf("pid %d, the supervisor of the interactive installer (transcript %s)", pid, filepath.Join(c.StateDir, "installer.transcript"))}}
}

// RefuseWhileInstallerRuns is for commands that would act on an installer
// action (`resolve upgrade/run-installer --retry`): an error while one lives,
// silent or interactive.
func RefuseWhileInstallerRuns(ctx context.Context, c *Config) error {
	if err := c.installerAlive(ctx); err != nil {
		return err
	}
	return c.supervisorAlive()
}

// ScrubInstallerAnswers removes the installer's copy of the answers (it holds
// the secrets) when no installer is using it: a wizard killed with -9 while the
// installer ran never reached its own removal, so every later run — an upgrade,
// a backout, a resolve — removes it first. It reports whether it removed one.
func ScrubInstallerAnswers(ctx context.Context, c *Config) (bool, error) {
	p := c.InstallerAnswersPath()
	if _, err := os.Lstat(p); errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	var running *InstallerRunningError
	if err := c.installerAlive(ctx); errors.As(err, &running) {
		return false, nil // in use; the run refuses to go on until it exits
	} else if err != nil {
		// Unknown is never "no installer": the copy stays.
		return false, fmt.Errorf("keep the installer's answers copy: %w", err)
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		return false, fmt.Errorf("remove the installer's answers copy (it holds secrets): %w", err)
	}
	return true, nil
}

// BeforeInstaller is what upgrade/run-installer passes before it starts an
// installer: none is still running from a killed wizard (never two at once),
// the services the run stopped are still down, and no stale answers copy lies
// around.
func (c *Config) BeforeInstaller(ctx context.Context) error {
	if err := c.installerAlive(ctx); err != nil {
		return err
	}
	if _, err := ScrubInstallerAnswers(ctx, c); err != nil {
		return err
	}
	return c.servicesDown(ctx, "running the installer")
}

// InstallerInDoubt is the evidence upgrade/run-installer's in-doubt resolution
// needs first: while an installer still runs nothing can be decided, and it
// must never be started a second time.
func (c *Config) InstallerInDoubt(ctx context.Context) error { return c.installerAlive(ctx) }
