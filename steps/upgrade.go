package steps

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"mswizard/backup"
	"mswizard/internal/atomicfile"
	"mswizard/steps/configdiff"
	"mswizard/steps/facts"
	"mswizard/steps/host"
	"mswizard/wizard"
	"mswizard/wizard/answers"
	"mswizard/wizard/journal"
	"mswizard/wizard/lines"
)

// installedVersion is the installed version as the product itself reports it:
// `imsimta version`, cross-checked with SERVER-ROOT/setup/install.inf
// (steps/host.ReadVersion; docs/host-facts.md rows F-VER-001, F-VER-002).
func (c *Config) installedVersion(ctx context.Context, env *wizard.Env) host.InstalledVersion {
	return host.ReadVersion(ctx, execVersion{env}, c.Host.ServerRoot(), c.Host.Instance)
}

// InstalledVersion is the version the host reports, for the faces' displays.
func InstalledVersion(ctx context.Context, c *Config, env *wizard.Env) host.InstalledVersion {
	return c.installedVersion(ctx, env.Nop())
}

// execVersion runs `imsimta version` through the step's command runner.
type execVersion struct{ env *wizard.Env }

func (x execVersion) IMSimtaVersion(ctx context.Context, imsimta string) (string, error) {
	var b bytes.Buffer
	_, err := x.env.Exec.Run(ctx, wizard.Command{Path: imsimta, Args: []string{"version"}, Timeout: time.Minute, Output: &b})
	return b.String(), err
}

// configBackups lists msg-INSTANCE/backup.TIMESTAMP directories, oldest first.
func (c *Config) configBackups() []string {
	m, _ := filepath.Glob(c.Host.BackupGlob())
	var dirs []string
	for _, p := range m {
		if fi, err := os.Stat(p); err == nil && fi.IsDir() {
			dirs = append(dirs, p)
		}
	}
	sort.Strings(dirs)
	return dirs
}

// installerLeftovers lists the backup.TIMESTAMP directories made after the
// server-root archive: an installer of this run made them. Older ones, from
// upgrades before, are part of the archived tree (docs/host-facts.md F-VER-004).
func (c *Config) installerLeftovers() []string {
	rec, err := c.serverRootRecord()
	if err != nil {
		return nil
	}
	afi, err := os.Stat(rec.Archive)
	if err != nil {
		return nil
	}
	var out []string
	for _, d := range c.configBackups() {
		if fi, err := os.Stat(d); err == nil && !fi.ModTime().Before(afi.ModTime()) {
			out = append(out, d)
		}
	}
	return out
}

// serverRootRecord is the server-root archive of this run, from the backup index.
func (c *Config) serverRootRecord() (backupRecord, error) {
	idx, err := c.readBackupIndex()
	if err != nil {
		return backupRecord{}, err
	}
	rec, ok := idx[serverRootArchive]
	if !ok {
		return backupRecord{}, errors.New("no server-root archive is recorded in " + c.backupIndex())
	}
	return rec, nil
}

// installerAnswers renders the answers for a silent installer run
// (InstallerMode = silent; docs/host-facts.md F-INS-011): the same install.inf, without the wizard's own
// section, with secrets given by reference written inline (the installer reads
// only its own keys). Nothing is added: a silent upgrade needs whatever keys
// the site's installer media document, and the operator writes them.
func installerAnswers(a *answers.Answers) []byte {
	var b bytes.Buffer
	for _, s := range a.File.Sections {
		if s.Name == answers.Wiz {
			continue // ours, not the installer's
		}
		fmt.Fprintf(&b, "[%s]\n", s.Name)
		for _, kv := range s.Keys {
			if name, ok := strings.CutSuffix(kv.Key, "File"); ok && strings.HasSuffix(name, "Pwd") {
				switch name {
				case "UserDirectoryAdminPwd":
					fmt.Fprintf(&b, "%s = %s\n", name, a.UserDirectoryAdminPwd.Reveal())
				case "ConfigDirectoryAdminPwd":
					fmt.Fprintf(&b, "%s = %s\n", name, a.ConfigDirectoryAdminPwd.Reveal())
				case "ServiceAdminPwd":
					fmt.Fprintf(&b, "%s = %s\n", name, a.ServiceAdminPwd.Reveal())
				}
				continue
			}
			fmt.Fprintf(&b, "%s = %s\n", kv.Key, strings.ReplaceAll(kv.Value, "\n", "\\\n"))
		}
		b.WriteString("\n")
	}
	return b.Bytes()
}

// installerRun is the receipt data of upgrade/run-installer.
type installerRun struct {
	VersionBefore string   `json:"version_before"`
	VersionAfter  string   `json:"version_after"`
	ConfigBackup  string   `json:"config_backup"` // msg-INSTANCE/backup.TIMESTAMP
	MadeBackup    bool     `json:"made_from_archive,omitempty"`
	Mode          string   `json:"mode"`                 // interactive or silent
	Transcript    string   `json:"transcript,omitempty"` // interactive: the redacted transcript
	Answered      []string `json:"answered,omitempty"`   // the prompt rows answered, in order
	Log           string   `json:"log,omitempty"`        // silent: the installer's output
}

// RunInstaller is upgrade/run-installer: the new version's `setup -k`, driven
// through a pseudo-terminal and answered from the answers file as appendix C
// documents it (seed 003, "Messaging Server 5.2 へのアップグレード" steps 4-8;
// steps/host.InstallerPrompts is the prompt table); with InstallerMode =
// silent, `setup -s -f` with a 0600 copy of the answers. Secrets reach the
// installer only through its terminal (or the 0600 copy, removed afterwards).
func RunInstaller(c *Config) wizard.Step {
	s := &installer{c: c}
	return wizard.Phase{
		ID: IDRunInstaller, Title: "Run the new version's installer (Upgrade)",
		Check: s.Check, Plan: s.Plan, Undo: s.Undo,
		Preflight: s.preflight, InDoubt: s.ResolveInDoubt,
		NoReturn: "the installer moves the configuration into backup.TIMESTAMP and lays down the new version; only a restore of the verified server-root archive takes it back",
		// The new version is installed and backup.TIMESTAMP exists.
		Establishes: []wizard.Fact{facts.VersionInstalled},
		// Its undo is the appendix's "restore the server root".
		Backout:  wizard.BackoutKey{Stage: wizard.BackoutRestore},
		UndoText: "restore the server root from its verified archive, carrying over queued and newly delivered mail",
	}.Step()
}

// IDRunInstaller is the installer step's ID.
const IDRunInstaller = "upgrade/run-installer"

// installer is what upgrade/run-installer's check, plan, undo and hooks share.
type installer struct{ c *Config }

// unknownVersion is the operator's decision an unreadable version needs: the
// wizard never takes an unknown version for either.
func (s *installer) unknownVersion(v host.InstalledVersion) error {
	imsimta := filepath.Join(s.c.Host.MsgDir(), "imsimta")
	return &wizard.DecisionError{Step: IDRunInstaller, Why: "the installed Messaging Server version cannot be told: " + v.Why,
		Choices: []string{
			fmt.Sprintf("run `%s version` by hand and fix what keeps it from naming the release (docs/host-facts.md F-VER-001), then rerun", imsimta),
			"mswizard backout                     take back everything done so far",
		}}
}

func (s *installer) Check(ctx context.Context, env *wizard.Env) (bool, string, error) {
	v := s.c.installedVersion(ctx, env)
	if !v.Known() {
		return false, "", s.unknownVersion(v)
	}
	if v.Is(s.c.Answers.TargetVersion) {
		return true, "installed version is already " + v.String(), nil
	}
	return false, "installed version is " + v.String(), nil
}

// findings is the installed-version preflight: the version the host reports
// must be the answers' InstalledVersion (or the target, on a resumed run).
func (s *installer) findings(ctx context.Context, env *wizard.Env) ([]wizard.Finding, error) {
	a := s.c.Answers
	v := s.c.installedVersion(ctx, env)
	switch {
	case !v.Known():
		sev := wizard.Inhibitor
		if len(s.c.installerLeftovers()) > 0 || exists(s.transcriptPath()) {
			// An installer of this run began: upgrade/run-installer decides
			// from the evidence when the run gets there.
			sev = wizard.Warning
		}
		return []wizard.Finding{{ID: "PRE-VER-001", Severity: sev,
			Message:     "the installed Messaging Server version cannot be told: " + v.Why,
			Remediation: fmt.Sprintf("make `%s version` name the installed release (docs/host-facts.md F-VER-001); the wizard never guesses a version", filepath.Join(s.c.Host.MsgDir(), "imsimta"))}}, nil
	case v.Is(a.TargetVersion):
		return []wizard.Finding{{ID: "PRE-VER-000", Severity: wizard.Warning,
			Message:     fmt.Sprintf("%s already reports %s (%s): upgrade/run-installer will not run the installer", filepath.Join(s.c.Host.MsgDir(), "imsimta"), a.TargetVersion, v.IMSimta),
			Remediation: "none needed on a resumed run; on a fresh one, check the answers' ServerRoot and Instance"}}, nil
	case a.InstalledVersion != "" && !v.Is(a.InstalledVersion):
		return []wizard.Finding{{ID: "PRE-VER-002", Severity: wizard.Inhibitor,
			Message:     fmt.Sprintf("the host reports Messaging Server %s (%s), not the answers' InstalledVersion %s", v.Version, v.IMSimta, a.InstalledVersion),
			Remediation: "set [Wizard] InstalledVersion to the installed release if this upgrade path is the one wanted (appendix C upgrades 5.x to 5.2)"}}, nil
	}
	return []wizard.Finding{{ID: "PRE-VER-000", Severity: wizard.Info,
		Message: fmt.Sprintf("installed: %s (imsimta version); the installer brings %s", v.IMSimta, a.TargetVersion)}}, nil
}

func exists(p string) bool { _, err := os.Lstat(p); return err == nil }

func (s *installer) logPath() string { return filepath.Join(s.c.StateDir, "installer.log") }
func (s *installer) transcriptPath() string {
	return filepath.Join(s.c.StateDir, "installer.transcript")
}
func (s *installer) resultPath() string {
	return filepath.Join(s.c.StateDir, "installer.result.json")
}
func (s *installer) lockPath() string { return filepath.Join(s.c.StateDir, "installer.lock") }
func (s *installer) specPath() string { return filepath.Join(s.c.StateDir, "installer.spec.json") }

// silent: `setup -s -f` only on the explicit InstallerMode = silent, never
// the default (docs/host-facts.md F-INS-011: a silent upgrade is undocumented).
func (s *installer) silent() bool { return s.c.Answers.InstallerMode == "silent" }

// prompts is the prompt table from the answers.
func (s *installer) prompts() ([]host.Prompt, error) {
	a := s.c.Answers
	pa := host.PromptAnswers{DirectoryUpgraded: a.DirectoryUpgraded, ConfigDirectoryURL: a.ConfigDirectoryLdapURL,
		ServiceAdminID: a.ServiceAdminID, ServiceAdminPwd: a.ServiceAdminPwd.Reveal()}
	for _, line := range a.InstallerAnswers {
		x, err := host.ParseExtraAnswer(line)
		if err != nil {
			return nil, err
		}
		pa.Extra = append(pa.Extra, x)
	}
	return host.InstallerPrompts(pa), nil
}

func (s *installer) Plan(ctx context.Context, env *wizard.Env) ([]wizard.Action, error) {
	c := s.c
	if s.silent() {
		copyPath := filepath.Join(c.StateDir, "install.inf.installer")
		cmd := wizard.Command{Path: c.Answers.Installer, Args: []string{"-s", "-f", copyPath}, Timeout: 2 * time.Hour}
		return []wizard.Action{{
			Summary:      cmd.String() + " (InstallerMode = silent)",
			Irreversible: "short of restoring the server-root archive",
			Do: func(ctx context.Context, r *wizard.Receipt) error {
				before, err := s.prepare(ctx, env, r, copyPath)
				if err != nil {
					return err
				}
				// The copy holds secrets: 0600, and removed whatever happens.
				if err := atomicfile.WriteFile(copyPath, installerAnswers(c.Answers), 0o600); err != nil {
					return err
				}
				defer os.Remove(copyPath)
				logf, err := os.OpenFile(s.logPath(), os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
				if err != nil {
					return err
				}
				defer logf.Close()
				run := cmd
				run.Output = lines.Tee(logf, func(l string) { env.Output(r.Step, l) })
				res, err := env.Exec.Run(ctx, run)
				r.Command = &res
				if err != nil {
					return fmt.Errorf("installer: %w (full output in %s)", err, s.logPath())
				}
				return s.finish(ctx, env, r, installerRun{VersionBefore: before, Mode: "silent", Log: s.logPath()})
			},
		}}, nil
	}
	if _, err := s.prompts(); err != nil {
		return nil, err
	}
	summary := fmt.Sprintf("%s on a pseudo-terminal, its prompts answered from the answers file (transcript %s)",
		wizard.ShellQuote(c.Answers.Installer, "-k"), s.transcriptPath())
	return []wizard.Action{{
		Summary:      summary,
		Irreversible: "short of restoring the server-root archive",
		Do: func(ctx context.Context, r *wizard.Receipt) error {
			before, err := s.prepare(ctx, env, r, "")
			if err != nil {
				return err
			}
			return s.interactive(ctx, env, r, before)
		},
	}}, nil
}

// prepare makes the host ready for an installer run and returns the version
// before it: no other installer run may be going on, and one that stopped
// half-way is undone first. The server root's installer record names this run
// (and answersCopy, the copy a silent installer reads), so a run of another
// state directory finds the installer if this wizard is killed.
func (s *installer) prepare(ctx context.Context, env *wizard.Env, r *wizard.Receipt, answersCopy string) (string, error) {
	c := s.c
	// Never two installers at once, and never one under live services
	// (installerguard.go).
	if err := c.BeforeInstaller(ctx); err != nil {
		return "", err
	}
	if running, pid, err := host.SupervisorRunning(s.lockPath()); err != nil {
		return "", err
	} else if running {
		return "", &wizard.DecisionError{Step: IDRunInstaller, Why: fmt.Sprintf("an installer run of this state directory is still going (its supervisor, pid %d, holds %s)", pid, s.lockPath()),
			Choices: []string{"wait for it to end (follow " + s.transcriptPath() + "), then rerun"}}
	}
	v := c.installedVersion(ctx, env)
	// An installer that died half-way (killed with the wizard, stopped at a
	// prompt, or by itself) left its backup.TIMESTAMP and a configuration
	// that is neither version. Run again on that, it would detect nothing and
	// move nothing: the customizations and ports would be lost. The retry
	// starts from the verified pre-installer archive.
	if left := c.installerLeftovers(); len(left) > 0 && !v.Is(c.Answers.TargetVersion) {
		rec, err := c.serverRootRecord()
		if err != nil {
			return "", err
		}
		env.Output(r.Step, fmt.Sprintf("a previous installer run stopped half-way (%s); restoring %s from %s first", strings.Join(left, ", "), c.Host.ServerRoot(), rec.Archive))
		if _, err := c.restoreServerRoot(ctx, env, rec); err != nil {
			return "", fmt.Errorf("undo the half-done installer run: %w", err)
		}
		v = c.installedVersion(ctx, env)
	}
	if !v.Known() {
		return "", s.unknownVersion(v)
	}
	if err := c.markInstallerRun(answersCopy); err != nil {
		return "", fmt.Errorf("record the installer run beside the server root: %w", err)
	}
	return v.String(), nil
}

// interactive runs `setup -k` under the supervisor (steps/host.Supervise, run
// as `mswizard installer-pty SPEC`): the supervisor holds the pseudo-terminal,
// so a killed wizard never hangs the installer up (host/installer_pty.go says
// why). The secret answers go to its stdin, never to a file.
func (s *installer) interactive(ctx context.Context, env *wizard.Env, r *wizard.Receipt, before string) error {
	c := s.c
	prompts, err := s.prompts()
	if err != nil {
		return err
	}
	specPrompts, secrets := host.SpecPrompts(prompts)
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find the wizard's own program for the installer's supervisor: %w", err)
	}
	nonce := fmt.Sprintf("%d-%d", os.Getpid(), env.Now().UnixNano())
	spec := host.InstallerSpec{Nonce: nonce, Argv: []string{c.Answers.Installer, "-k"}, Dir: filepath.Dir(c.Answers.Installer),
		// A line-by-line dialogue, read by a program: no terminal queries or
		// colour (docs/host-facts.md F-INS-010).
		Env:     []string{"TERM=dumb"},
		Prompts: specPrompts, PromptTimeout: c.Answers.InstallerPromptTimeout, QuietTimeout: c.Answers.InstallerQuietTimeout,
		Transcript: s.transcriptPath(), Result: s.resultPath(), Lock: s.lockPath(), HostLock: c.installerMarkPath()}
	sb, err := json.MarshalIndent(spec, "", "  ")
	if err != nil {
		return err
	}
	if err := os.Remove(s.resultPath()); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if err := atomicfile.WriteFile(s.specPath(), append(sb, '\n'), 0o600); err != nil {
		return err
	}
	stdin, err := json.Marshal(secrets)
	if err != nil {
		return err
	}
	cmd := wizard.Command{Path: self, Args: []string{"installer-pty", s.specPath()}, Stdin: stdin, Timeout: 2 * time.Hour,
		Output: lineWriter(func(l string) { env.Output(r.Step, l) })}
	res, runErr := env.Exec.Run(ctx, cmd)
	r.Command = &res
	out, err := host.ReadInstallerResult(s.resultPath())
	if err != nil {
		return err
	}
	if out == nil || out.Nonce != nonce {
		if runErr != nil {
			return fmt.Errorf("installer supervisor: %w (transcript %s)", runErr, s.transcriptPath())
		}
		return fmt.Errorf("the installer's supervisor left no result in %s (transcript %s)", s.resultPath(), s.transcriptPath())
	}
	if oc := out.Outcome; oc.Stopped() {
		why := "the installer asked a question the answers do not cover; the wizard never guesses an answer. The prompt, verbatim:\n\n" + indent(oc.Prompt) + "\n"
		if oc.Kind == host.OutcomeMissing {
			why = fmt.Sprintf("the installer asked the documented prompt %s, and the answers file has no answer for it. The prompt, verbatim:\n\n%s\n", oc.Row, indent(oc.Prompt))
		}
		if oc.Kind == host.OutcomeRepeated {
			why = fmt.Sprintf("the installer asked %s again after the wizard's answer. The prompt, verbatim:\n\n%s\n", oc.Row, indent(oc.Prompt))
		}
		return &wizard.DecisionError{Step: IDRunInstaller, Why: why + "The installer was stopped there (transcript " + s.transcriptPath() + "); a rerun restores the server root first if it had begun to change it.",
			Choices: []string{oc.Remedy, "mswizard backout                     take back everything done so far"}}
	}
	if out.ExitCode != 0 || runErr != nil {
		return fmt.Errorf("installer: exit %d%s (transcript %s)", out.ExitCode, sigText(out.Signal), s.transcriptPath())
	}
	r.Decisions = append(r.Decisions, installerDecisions(prompts, out.Outcome.Answered)...)
	return s.finish(ctx, env, r, installerRun{VersionBefore: before, Mode: "interactive", Transcript: s.transcriptPath(), Answered: out.Outcome.Answered})
}

// installerDecisions are the installer's prompts answered from the answers
// file, in order, for the journal (a secret answer is never written).
func installerDecisions(prompts []host.Prompt, answered []string) []journal.Decision {
	var out []journal.Decision
	for _, name := range answered {
		for _, p := range prompts {
			if p.Name != name {
				continue
			}
			choice := p.Answer
			switch {
			case p.Secret:
				choice = "REDACTED"
			case choice == "":
				choice = "Enter (the installer's default)"
			}
			out = append(out, journal.Decision{Kind: journal.DecideInstaller, Subject: name, Choice: choice, Source: journal.SourceAnswers, Reason: p.Source})
			break
		}
	}
	return out
}

func sigText(sig string) string {
	if sig == "" {
		return ""
	}
	return ", killed by " + sig
}

func indent(s string) string {
	return "    " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n    ")
}

// finish checks the installer's work by the host's own version report and
// records the old configuration for the merge.
func (s *installer) finish(ctx context.Context, env *wizard.Env, r *wizard.Receipt, rec installerRun) error {
	c := s.c
	after := c.installedVersion(ctx, env)
	if !after.Is(c.Answers.TargetVersion) {
		return fmt.Errorf("the installer exited 0 but the host reports version %s, not %s", after, c.Answers.TargetVersion)
	}
	rec.VersionAfter = after.String()
	if bs := c.configBackups(); len(bs) > 0 {
		rec.ConfigBackup = bs[len(bs)-1]
	} else {
		// The diff needs its old side: make backup.TIMESTAMP from the
		// verified server-root archive.
		dir, err := c.backupFromArchive(ctx, env)
		if err != nil {
			return err
		}
		rec.ConfigBackup, rec.MadeBackup = dir, true
	}
	r.Note = fmt.Sprintf("%s -> %s; old configuration in %s", rec.VersionBefore, rec.VersionAfter, rec.ConfigBackup)
	return r.SetData(rec)
}

// ResolveInDoubt decides from evidence what became of an installer run the
// wizard was killed during; it never re-runs the installer blindly. The
// evidence: the supervisor still holding its lock (the installer still runs),
// the supervisor's result, the version the host reports, and the
// backup.TIMESTAMP an installer of this run left.
func (s *installer) ResolveInDoubt(ctx context.Context, env *wizard.Env, action int, summary string) (wizard.Resolution, error) {
	if err := s.c.InstallerInDoubt(ctx); err != nil { // installerguard.go
		return wizard.Undecided, err
	}
	if running, pid, err := host.SupervisorRunning(s.lockPath()); err != nil {
		return wizard.Undecided, err
	} else if running {
		return wizard.Undecided, &wizard.DecisionError{Step: IDRunInstaller, Action: action, Summary: summary,
			Why:     fmt.Sprintf("the installer is still running under its supervisor (pid %d holds %s)", pid, s.lockPath()),
			Choices: []string{"wait for it to end (follow " + s.transcriptPath() + "), then rerun: the wizard decides from its result"}}
	}
	res, err := host.ReadInstallerResult(s.resultPath())
	if err != nil {
		return wizard.Undecided, err
	}
	v := s.c.installedVersion(ctx, env)
	if !v.Known() {
		return wizard.Undecided, nil
	}
	failed := res != nil && (res.ExitCode != 0 || res.Outcome.Stopped())
	if v.Is(s.c.Answers.TargetVersion) {
		if failed {
			return wizard.Undecided, nil // new binaries, but the installer did not finish
		}
		return wizard.WasDone, nil
	}
	if len(s.c.installerLeftovers()) == 0 {
		return wizard.NotDone, nil // the installer changed nothing yet
	}
	return wizard.Undecided, nil
}

// backupFromArchive recreates msg-INSTANCE/backup.TIMESTAMP from the server-root
// archive, for installers that do not keep one.
func (c *Config) backupFromArchive(ctx context.Context, env *wizard.Env) (string, error) {
	idx, err := c.readBackupIndex()
	if err != nil {
		return "", err
	}
	rec, ok := idx[serverRootArchive]
	if !ok {
		return "", errors.New("no backup.TIMESTAMP and no server-root archive to make one from")
	}
	// Extract beside the destination, on the same filesystem, so the moves
	// below are renames (StateDir may be on another volume).
	tmp, err := os.MkdirTemp(c.Host.MsgDir(), ".mswizard-restore-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	if err := backup.RestoreInto(ctx, rec.Archive, filepath.Join(tmp, "sr"), nil); err != nil {
		return "", err
	}
	msgRel, _ := filepath.Rel(c.Host.ServerRoot(), c.Host.MsgDir())
	dst := filepath.Join(c.Host.MsgDir(), "backup."+env.Now().Format("20060102150405"))
	for _, rel := range []string{"config/local.conf", "config/msg.conf", "imta/config", "html"} {
		src := filepath.Join(tmp, "sr", msgRel, rel)
		if _, err := os.Stat(src); err != nil {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dst, rel)), 0o755); err != nil {
			return "", err
		}
		if err := os.Rename(src, filepath.Join(dst, rel)); err != nil {
			return "", err
		}
	}
	// The old configuration is the diff's only old side now: make it durable
	// before the step records it.
	if err := syncFS(dst); err != nil {
		return "", err
	}
	return dst, nil
}

func (s *installer) Undo(ctx context.Context, env *wizard.Env, rs []wizard.Receipt) ([]wizard.Action, error) {
	c := s.c
	idx, err := c.readBackupIndex()
	if err != nil {
		return nil, err
	}
	rec, ok := idx[serverRootArchive]
	if !ok {
		return nil, errors.New("no server-root archive is recorded in " + c.backupIndex())
	}
	return []wizard.Action{{
		Summary:    fmt.Sprintf("restore %s from %s (verified), carrying over the queue and the store", c.Host.ServerRoot(), rec.Archive),
		Idempotent: true,
		Do: func(ctx context.Context, r *wizard.Receipt) error {
			// Never under a running Directory Server of the server root
			// (dsinstance_undo.go: its stop comes first in the backout).
			if err := c.dsInstancesDown(ctx); err != nil {
				return err
			}
			carried, err := c.restoreServerRoot(ctx, env, rec)
			if len(carried) > 0 {
				r.Note = fmt.Sprintf("carried over %d queued or delivered message file(s)", len(carried))
				_ = r.SetData(map[string]any{"carried": carried})
			}
			return err
		},
	}}, nil
}

// putBack returns carried directories to their places after a failed restore,
// where nothing took their place, and says where the mail is.
func putBack(carry string, moves [][2]string) string {
	var kept []string
	for _, m := range moves {
		if _, err := os.Lstat(m[0]); err != nil {
			continue
		}
		if isEmptyDir(m[1]) {
			_ = os.Remove(m[1])
		}
		if _, err := os.Lstat(m[1]); errors.Is(err, os.ErrNotExist) {
			if err := atomicfile.Rename(m[0], m[1]); err == nil {
				continue
			}
		}
		kept = append(kept, fmt.Sprintf("%s (belongs at %s)", m[0], m[1]))
	}
	if len(kept) > 0 {
		return "the live mail is kept safe in " + strings.Join(kept, ", ") + "; a rerun carries it over"
	}
	_ = os.Remove(carry)
	return "the live queue and store are back in place; nothing was lost"
}

// carryName is the directory inside a mounted server root that holds the live
// queue and store through a restore; it is never archived nor restored.
const carryName = ".mswizard-carry"

// carryDir is where restoreServerRoot keeps the live queue and store during
// the restore: beside the server root, or inside it when the server root is a
// mount point (an HA shared disk), whose parent is another filesystem. A carry
// left by an interrupted run is used again wherever it is. inside reports the
// latter: the restore then swaps the server root's contents, keeping the carry.
func (c *Config) carryDir() (dir string, inside bool) {
	root := c.Host.ServerRoot()
	in := filepath.Join(root, carryName)
	beside := filepath.Join(filepath.Dir(root), "."+filepath.Base(root)+carryName)
	if _, err := os.Lstat(in); err == nil {
		return in, true
	}
	if _, err := os.Lstat(beside); err == nil {
		return beside, false
	}
	if m, err := isMountPoint(root); err == nil && m {
		return in, true
	}
	return beside, false
}

// restoreServerRoot puts the pre-upgrade server root back. Mail must not be lost
// (seed 003 backout step 2: save the store elsewhere when it was not backed up):
// the live queue and store partition are moved out first and put back after, and
// queued messages that arrived since the backup are merged into the restored queue.
// A server root that is a mount point is restored by swapping its contents,
// with the mail carried inside it.
func (c *Config) restoreServerRoot(ctx context.Context, env *wizard.Env, rec backupRecord) ([]string, error) {
	if err := c.beforeRestore(ctx, rec); err != nil { // safety.go
		return nil, err
	}
	carry, inside := c.carryDir()
	var keep []string
	if inside {
		keep = []string{carryName}
	}
	queueCarry := filepath.Join(carry, "queue")
	storeCarry := filepath.Join(carry, "store")
	if err := os.MkdirAll(carry, 0o700); err != nil {
		return nil, err
	}
	moveIfPresent := func(src, dst string) error {
		if _, err := os.Stat(dst); err == nil {
			return nil // moved before an interruption
		}
		if _, err := os.Stat(src); errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return atomicfile.Rename(src, dst)
	}
	if err := moveIfPresent(c.Host.QueueDir(), queueCarry); err != nil {
		return nil, fmt.Errorf("carry queue: %w", err)
	}
	if err := moveIfPresent(c.Host.StorePrimary(), storeCarry); err != nil {
		return nil, fmt.Errorf("carry store: %w", err)
	}
	// The store moved aside by store/aside lies inside the server root and
	// outside its archive: a restore would drop it with the mail it holds.
	aside := c.Host.StorePrimary() + storeAsideSuffix
	asideCarry := filepath.Join(carry, "store-aside")
	if err := moveIfPresent(aside, asideCarry); err != nil {
		return nil, fmt.Errorf("carry the store set aside: %w", err)
	}
	// Whatever else the archive left out and the live tree holds (its
	// manifest says: a BackupDir inside the server root, a store partition
	// it was told to leave out) is carried the same way: a restore must
	// never delete what it cannot bring back.
	extra, err := c.excludedCarries(rec, carry)
	if err != nil {
		return nil, err
	}
	for _, m := range extra {
		if err := os.MkdirAll(filepath.Dir(m[0]), 0o700); err != nil {
			return nil, err
		}
		if err := moveIfPresent(m[1], m[0]); err != nil {
			return nil, fmt.Errorf("carry %s, which the archive left out: %w", m[1], err)
		}
		// The archive itself may lie in what is carried (BackupDir inside
		// the server root): read it where it went.
		for _, p := range []*string{&rec.Archive, &rec.Manifest} {
			if within(*p, m[1]) {
				rel, _ := filepath.Rel(m[1], *p)
				*p = filepath.Join(m[0], rel)
			}
		}
	}
	// A Directory Server of the server root that runs keeps its live files
	// (dsinstance_undo.go): carried through like the queue, never swapped
	// under it.
	dsMoves, derr := c.dsCarries(ctx, carry)
	if derr != nil {
		return nil, derr
	}
	for _, m := range dsMoves {
		if err := moveIfPresent(m[1], m[0]); err != nil {
			return nil, fmt.Errorf("carry the running Directory Server %s: %w", m[1], err)
		}
	}
	err = backup.Restore(ctx, rec.Archive, backup.RestoreOptions{Target: c.Host.ServerRoot(), Manifest: rec.Manifest, Now: env.Now, Contents: inside, Keep: keep,
		Progress: backupProgress(env)})
	if err != nil {
		moves := append([][2]string{{queueCarry, c.Host.QueueDir()}, {storeCarry, c.Host.StorePrimary()}, {asideCarry, aside}}, extra...)
		return nil, fmt.Errorf("restore %s: %w; %s", c.Host.ServerRoot(), err, putBack(carry, append(moves, dsMoves...)))
	}
	var carried []string
	// Queue: the live queue is the truth — what it held at the backup was either
	// delivered since or is still in it — so it replaces the restored one whole.
	if _, err := os.Stat(queueCarry); err == nil {
		_ = filepath.WalkDir(queueCarry, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.Type().IsRegular() {
				rel, _ := filepath.Rel(queueCarry, p)
				carried = append(carried, filepath.Join("queue", rel))
			}
			return nil
		})
		if err := os.RemoveAll(c.Host.QueueDir()); err != nil {
			return carried, err
		}
		if err := atomicfile.Rename(queueCarry, c.Host.QueueDir()); err != nil {
			return carried, fmt.Errorf("carry queue back: %w", err)
		}
	}
	// Store: the archive left the partition out; the carried one goes back whole.
	if _, err := os.Stat(storeCarry); err == nil {
		if isEmptyDir(c.Host.StorePrimary()) {
			_ = os.Remove(c.Host.StorePrimary())
		}
		if err := os.MkdirAll(filepath.Dir(c.Host.StorePrimary()), 0o755); err != nil {
			return carried, err
		}
		if err := atomicfile.Rename(storeCarry, c.Host.StorePrimary()); err != nil {
			return carried, fmt.Errorf("carry store back: %w", err)
		}
	}
	if _, err := os.Stat(asideCarry); err == nil {
		if err := atomicfile.Rename(asideCarry, aside); err != nil {
			return carried, fmt.Errorf("carry the store set aside back: %w", err)
		}
	}
	if err := carryBack(extra); err != nil {
		return carried, err
	}
	if err := dsCarryBack(dsMoves); err != nil {
		return carried, err
	}
	if !inside {
		return carried, os.RemoveAll(carry)
	}
	// The carry's removal touches the restored root's mtime: keep it.
	fi, err := os.Stat(c.Host.ServerRoot())
	if err != nil {
		return carried, err
	}
	if err := os.RemoveAll(carry); err != nil {
		return carried, err
	}
	return carried, os.Chtimes(c.Host.ServerRoot(), fi.ModTime(), fi.ModTime())
}

// excludedCarries lists, as {carried, live} pairs, what the archive's
// manifest records as left out and the live server root holds, beyond the
// store partition, the store set aside and the queue, which restoreServerRoot
// carries by name. A path inside another one carried moves with it.
func (c *Config) excludedCarries(rec backupRecord, carry string) ([][2]string, error) {
	m, err := backup.OpenManifest(rec.Manifest)
	if err != nil {
		return nil, fmt.Errorf("restore %s: %w", c.Host.ServerRoot(), err)
	}
	excluded := m.Header.Excluded
	m.Close()
	root := c.Host.ServerRoot()
	named := []string{c.Host.QueueDir(), c.Host.StorePrimary(), c.Host.StorePrimary() + storeAsideSuffix}
	var out [][2]string
	var taken []string
	for _, rel := range excluded {
		live := filepath.Join(root, filepath.FromSlash(rel))
		if !within(live, root) || live == root {
			continue
		}
		skip := false
		for _, n := range append(named, taken...) {
			if within(live, n) || within(n, live) {
				skip = true
			}
		}
		if skip {
			continue
		}
		carried := filepath.Join(carry, "excluded", filepath.FromSlash(rel))
		_, errLive := os.Lstat(live)
		_, errCarried := os.Lstat(carried)
		if errLive != nil && errCarried != nil {
			continue // nothing there, and nothing carried before an interruption
		}
		taken = append(taken, live)
		out = append(out, [2]string{carried, live})
	}
	return out, nil
}

// carryBack returns what excludedCarries carried to its place in the restored
// tree (the archive left it out, so nothing but an empty directory is there).
func carryBack(moves [][2]string) error {
	for _, m := range moves {
		if _, err := os.Lstat(m[0]); err != nil {
			continue
		}
		if isEmptyDir(m[1]) {
			_ = os.Remove(m[1])
		}
		if err := os.MkdirAll(filepath.Dir(m[1]), 0o755); err != nil {
			return err
		}
		if err := atomicfile.Rename(m[0], m[1]); err != nil {
			return fmt.Errorf("carry %s back: %w", m[1], err)
		}
	}
	return nil // the carry directory, emptied, is removed with the rest
}

// configutil is the product's configutil of the instance, through which the
// merge sets local.conf and msg.conf values (docs/host-facts.md
// F-MRG-002): `configutil -o NAME -v VALUE` to set, `configutil -o NAME` to read
// back.
func (c *Config) configutil(env *wizard.Env) configdiff.Configutil {
	return execConfigutil{env: env, path: filepath.Join(c.Host.MsgDir(), "configutil")}
}

type execConfigutil struct {
	env  *wizard.Env
	path string
}

func (x execConfigutil) Set(ctx context.Context, name, value string) error {
	_, err := x.env.Exec.Run(ctx, wizard.Command{Path: x.path, Args: []string{"-o", name, "-v", value}, Timeout: time.Minute})
	if err != nil && secretName(name) {
		// The command line holds the credential: say only that it failed.
		return fmt.Errorf("%s -o %s -v REDACTED failed", x.path, name)
	}
	return err
}

func (x execConfigutil) Get(ctx context.Context, name string) (string, error) {
	var b bytes.Buffer
	if _, err := x.env.Exec.Run(ctx, wizard.Command{Path: x.path, Args: []string{"-o", name}, Timeout: time.Minute, Output: &b}); err != nil {
		return "", err
	}
	return strings.TrimRight(b.String(), "\r\n"), nil
}

func secretName(name string) bool {
	n := strings.ToLower(name)
	return strings.Contains(n, "cred") || strings.Contains(n, "passw") || strings.Contains(n, "pwd") || strings.Contains(n, "secret")
}

// compileMTA runs `imsimta cnbuild` when the merge changed the MTA's
// configuration (imta/config/*): until it is compiled, the MTA runs with the
// old compiled image (docs/host-facts.md F-MRG-001). It is repeatable,
// so a resumed merge compiles again.
func (c *Config) compileMTA(ctx context.Context, env *wizard.Env, r *wizard.Receipt, changed []string) error {
	var mta []string
	for _, rel := range changed {
		if strings.HasPrefix(rel, "imta/config/") {
			mta = append(mta, rel)
		}
	}
	if len(mta) == 0 {
		return nil
	}
	env.Output(r.Step, fmt.Sprintf("the merge changed the MTA configuration (%s): compiling it with imsimta cnbuild", strings.Join(mta, ", ")))
	res, err := env.Exec.Run(ctx, wizard.Command{Path: filepath.Join(c.Host.MsgDir(), "imsimta"), Args: []string{"cnbuild"}, Timeout: 10 * time.Minute,
		Output: lineWriter(func(l string) { env.Output(r.Step, l) })})
	r.Command = &res
	if err != nil {
		return fmt.Errorf("compile the merged MTA configuration: %w", err)
	}
	return nil
}

// syncFS flushes the filesystem holding dir (syncfs(2)): every file just
// written or moved there is on disk when it returns.
func syncFS(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := syncfsFD(int(f.Fd())); err != nil {
		return fmt.Errorf("syncfs %s: %w", dir, err)
	}
	return nil
}
