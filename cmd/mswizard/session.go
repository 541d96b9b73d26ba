package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"mswizard/internal/atomicfile"
	"mswizard/ldif/export"
	"mswizard/steps"
	"mswizard/wizard"
	"mswizard/wizard/answers"
	"mswizard/wizard/journal"
)

// version is set at build time (-ldflags "-X main.version=...").
var version = "0.1.0-dev"

// common holds the flags every run-related subcommand shares.
type common struct {
	answersPath string
	stateDir    string
	yes         bool
	output      string
	dryRun      bool
	until       string
	skip, only  []string
	runbook     string // `run RUNBOOK`: a shipped runbook id or a runbook file
	// newRun is the operator's decision to start a run although the host holds
	// what an earlier run left (steps.FindingEarlierRun).
	newRun bool
}

// session is one invocation's loaded run, its steps and environment.
type session struct {
	run     runKind // the Messaging Server upgrade or a runbook file's run (run.go)
	steps   []wizard.Step
	env     *wizard.Env
	state   string
	logFile *os.File
	// hostLock is the server root's host-wide lock, held with the journal.
	hostLock *journal.HostLock
}

func (c *common) load(ctx context.Context, stdin io.Reader) (*session, error) {
	if c.answersPath == "" && c.stateDir == "" {
		return nil, usagef("no answers: give --answers install.inf (see `mswizard answers template`), or --state-dir of a run in progress")
	}
	if c.output != "text" && c.output != "json" {
		return nil, usagef("--output %q: must be text or json", c.output)
	}
	if c.stateDir != "" {
		// Pinned absolute: a rerun from another directory must find the same
		// journal (FAULTS.md C8).
		abs, err := filepath.Abs(c.stateDir)
		if err != nil {
			return nil, usagef("--state-dir %s: %v", c.stateDir, err)
		}
		c.stateDir = abs
	}
	path := c.answersPath
	if path == "" {
		// A run in progress keeps a copy of where its answers came from.
		b, err := os.ReadFile(filepath.Join(c.stateDir, "answers.path"))
		if err != nil {
			return nil, usagef("--state-dir %s holds no run (no answers.path); give --answers", c.stateDir)
		}
		path = string(b)
	}
	if ref := c.runbookRef(path); ref != "" {
		return c.loadRunbook(ref, path)
	}
	a, err := answers.Load(path, answers.LoadOptions{})
	if err != nil {
		return nil, err
	}
	state := a.StateDir
	if c.stateDir != "" {
		state = c.stateDir
	}
	cfg := steps.NewConfig(a, state)
	cfg.Directory = &ldapDialer{a: a}
	s := &session{run: &upgradeRun{answers: a, cfg: cfg}, state: state}
	s.steps = steps.Upgrade(cfg)
	s.env = &wizard.Env{
		Root:     "/",
		StateDir: state,
		Exec:     wizard.OSExecer{},
		Now:      time.Now,
		Log:      slog.New(slog.DiscardHandler),
	}
	return s, nil
}

// openLog starts the structured log in the state directory; it never writes to
// the terminal, so it cannot disturb a TUI.
func (s *session) openLog() error {
	if err := os.MkdirAll(s.state, 0o700); err != nil {
		return fmt.Errorf("state directory: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(s.state, "mswizard.log"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("log: %w", err)
	}
	s.logFile = f
	s.env.Log = slog.New(slog.NewJSONHandler(f, nil)).With("pid", os.Getpid())
	return nil
}

// rememberAnswers points the state directory's answers.path, which `--state-dir`
// commands load, at this session's answers — once the journal is held and only
// when the journal will run on them (no pin yet, the same answers, or a run that
// changed nothing). A run refused for different inputs, or locked out, leaves the
// pointer at the run's own answers.
func (s *session) rememberAnswers(j *journal.Journal) {
	if s.answersFile() == "" {
		return
	}
	st := wizard.Fold(j.Records())
	if st.Pin != nil && st.Pin.AnswersHash != s.answersHash() && st.Changed() && !st.BackedOut {
		return
	}
	s.rememberRunbook()
	abs, err := filepath.Abs(s.answersFile())
	if err != nil {
		return
	}
	if err := atomicfile.WriteFile(filepath.Join(s.state, "answers.path"), []byte(abs), 0o600); err != nil {
		s.env.Log.Error("answers.path", "err", err)
	}
}

func (s *session) answersHash() string { return s.run.answersHash() }

func (s *session) answersFile() string { return s.run.answersFile() }

// rememberRunbook writes what `--state-dir` commands need to load the run
// again (a runbook file's runbook.ref).
func (s *session) rememberRunbook() {
	if err := s.run.remember(s.state); err != nil {
		s.env.Log.Error("remember the run", "err", err)
	}
}

// sessionFlag is the flag that names this run again in a command to run next.
func (c *common) sessionFlag(s *session) string {
	if c.answersPath != "" {
		return "--answers " + c.answersPath
	}
	return "--state-dir " + s.state
}

func (s *session) close() {
	if s.hostLock != nil {
		s.hostLock.Close()
		s.hostLock = nil
	}
	if s.logFile != nil {
		s.logFile.Close()
	}
}

func (s *session) pin() wizard.Pin {
	p := wizard.Pin{WizardVersion: version, AnswersHash: s.answersHash()}
	s.run.pin(&p, s.state)
	for _, st := range s.steps {
		p.Steps = append(p.Steps, st.ID())
	}
	return p
}

func (s *session) options(c *common) wizard.Options {
	return wizard.Options{Until: c.until, Skip: c.skip, Only: c.only, Yes: c.yes || s.run.confirms(), YesFrom: yesFrom(c.yes), Waivers: s.run.waivers(c.newRun), Pin: s.pin(),
		Ready: func(ctx context.Context) error { return s.run.reach(ctx, s) }}
}

// yesFrom says where a run's "yes" to every confirmation came from: --yes, or
// Confirm = yes in the answers.
func yesFrom(flag bool) journal.Source {
	if flag {
		return journal.SourceFlag
	}
	return journal.SourceAnswers
}

// openJournal locks the state directory's journal and then what the run holds
// beside it (the upgrade: the server root's host-wide lock, one run per server
// root whatever its state directory).
func (s *session) openJournal() (*journal.Journal, error) {
	now := time.Now()
	j, err := journal.Open(s.state, journal.Options{Run: fmt.Sprintf("%d-%d", now.Unix(), os.Getpid())})
	if err != nil {
		return nil, err
	}
	if err := s.run.lock(s, now); err != nil {
		j.Close()
		return nil, err
	}
	return j, nil
}

// records reads the journal without locking it, for plans and status. A state
// directory without a journal is a run not started; a journal that cannot be
// read or is damaged is refused, never shown as an empty one.
func (s *session) records() ([]journal.Record, error) {
	recs, err := journal.Read(s.state)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return recs, nil
}

// ldapDialer opens the user directory named in the answers, bound as
// UserDirectoryAdminID; the password goes only into the bind request.
type ldapDialer struct{ a *answers.Answers }

func (d *ldapDialer) DialLDAP(ctx context.Context) (ldap.Client, error) {
	return export.Dial(ctx, d.a.LDAPAddress(),
		export.Bind{DN: d.a.UserDirectoryAdminID, Password: export.Secret(d.a.UserDirectoryAdminPwd.Reveal())},
		export.TLS{CAFile: d.a.LDAPCAFile, StartTLS: d.a.LDAPStartTLS, InsecureSkipVerify: d.a.LDAPInsecureSkipVerify},
		export.DialOptions{Timeout: d.a.LDAPTimeout})
}

// withSession is the RunE of a subcommand that works on a run: it loads the
// answers (or the state directory's), builds the runbook and environment, and
// hands them to fn with the command's context and output.
func (c *common) withSession(fn func(ctx context.Context, s *session, out io.Writer) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, _ []string) error {
		ctx := cmd.Context()
		s, err := c.load(ctx, os.Stdin)
		if err != nil {
			return err
		}
		defer s.close()
		return fn(ctx, s, cmd.OutOrStdout())
	}
}

func isTerminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }
