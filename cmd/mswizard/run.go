package main

import (
	"context"
	"io"
	"path/filepath"
	"time"

	"mswizard/steps"
	"mswizard/steps/service"
	"mswizard/wizard"
	"mswizard/wizard/answers"
	"mswizard/wizard/journal"
	"mswizard/wizard/tui"
)

// runKind is what a session runs: the Messaging Server upgrade (upgradeRun) or
// a runbook file's run (runbookRun, runbook_session.go). Both go through the same
// engine, journal and faces; the faces ask the run what differs, and none of
// them branches on which kind it is.
type runKind interface {
	// what names the run in messages: "upgrade", "runbook qmail-daemontools".
	what() string
	// again is the mswizard command that goes on with the run: "upgrade",
	// "run RUNBOOK".
	again() string
	answersFile() string
	answersHash() string
	// pin completes the journal's pin with what must not change under the run.
	pin(p *wizard.Pin, state string)
	// confirms says whether the answers confirm every question; waivers are the
	// preflight findings they waive (newRun: the operator starts a new run beside
	// what an earlier one left).
	confirms() bool
	waivers(newRun bool) map[string]string
	// lock takes, beside the state directory's journal, what keeps a second run
	// off the same host; the session closes it.
	lock(s *session, now time.Time) error
	// reach connects to every host the run acts on beyond the control host,
	// before a run's or a backout's first action (wizard.Options.Ready).
	reach(ctx context.Context, s *session) error
	// beforeRetry refuses `resolve STEP --retry` while retrying would do harm.
	beforeRetry(step string) error
	// remember writes what `--state-dir` commands need to load the run again.
	remember(state string) error
	// keptSafe lists what a stopped run kept, beyond its journal and report.
	keptSafe(w io.Writer, state string)
	// estimate fills in the plan's estimates where the run can measure the host.
	estimate(ctx context.Context, s *session, rep *wizard.PlanReport) error
	// face adds what the run offers the interactive face beyond the plan and
	// the status (the preflight screen, decisions to review).
	face(ctx context.Context, s *session, c *common, r *wizard.Runner, o *tui.Options)
	// backoutProcedure is the procedure a backout follows, with each component
	// or why it is skipped ("" when the run has none of its own).
	backoutProcedure() string
	// decisions are the answers' decision lines the report names.
	decisions() []string
	// upgrade is the Messaging Server upgrade, for the commands that apply to
	// it alone (diff, ldif export); a runbook file's run refuses them.
	upgrade() (*upgradeRun, error)
}

// upgradeRun is the Messaging Server upgrade (seed 003): its answers and the
// steps' configuration built from them.
type upgradeRun struct {
	answers *answers.Answers
	cfg     *steps.Config
}

func (u *upgradeRun) what() string        { return "upgrade" }
func (u *upgradeRun) again() string       { return "upgrade" }
func (u *upgradeRun) answersFile() string { return u.answers.Path }
func (u *upgradeRun) answersHash() string { return u.answers.Hash() }
func (u *upgradeRun) confirms() bool      { return u.answers.Confirm }
func (u *upgradeRun) decisions() []string { return u.answers.ConfigDecisions }

// backoutProcedure: the appendix's strict order with the components this host
// has, each other one skipped with its reason.
func (u *upgradeRun) backoutProcedure() string {
	return service.RenderProcedure(u.cfg.Service().Detect())
}

func (u *upgradeRun) upgrade() (*upgradeRun, error) { return u, nil }

// pin binds the journal to every path the answers name, made absolute (a
// relative one resolves against the answers file's directory): a rerun whose
// answers file moved, with the same contents, would otherwise stop other web
// servers, read another CA file or another password file (FAULTS.md C8). The
// four first keys keep their names from older journals; the others are the
// answers' key names. A journal pinned by an older wizard lacks the newer keys
// and is resumed (wizard.pinDiff compares the keys both pins hold).
func (u *upgradeRun) pin(p *wizard.Pin, state string) {
	a := u.answers
	p.Paths = map[string]string{
		"state directory":    state,
		"backup directory":   u.cfg.BackupDir,
		"server root":        u.cfg.Host.ServerRoot(),
		"installer":          a.Installer,
		"ServiceDir":         a.ServiceDir,
		"WebServerRoot":      a.WebServerRoot,
		"DelegatedAdminRoot": a.DelegatedAdminRoot,
		"PristineDefaults":   a.PristineDefaults,
		"ClusterBin":         a.ClusterBin,
		"LDAPCAFile":         a.LDAPCAFile,
	}
	for k, v := range secretFiles(a) {
		p.Paths[k] = v
	}
}

// secretFiles are the NAMEFile references of the answers' secrets, absolute
// (answers.Load reads them against the answers file's directory), by key name.
func secretFiles(a *answers.Answers) map[string]string {
	out := map[string]string{}
	for _, k := range answers.Keys {
		if !k.Secret {
			continue
		}
		v := ""
		if a.File != nil {
			v, _ = a.File.Section(k.Section).Get(k.Name + "File")
		}
		if v != "" && !filepath.IsAbs(v) {
			v = filepath.Join(filepath.Dir(a.Path), v)
		}
		if v != "" {
			v = filepath.Clean(v)
		}
		out[k.Name+"File"] = v
	}
	return out
}

func (u *upgradeRun) waivers(newRun bool) map[string]string {
	if !newRun {
		return u.answers.Waivers
	}
	w := map[string]string{}
	for k, v := range u.answers.Waivers {
		w[k] = v
	}
	w[steps.FindingEarlierRun] = "--new-run: the operator starts a new run beside what an earlier run left"
	return w
}

// lock takes the server root's host-wide lock (one run per server root,
// whatever its state directory), refuses while an installer another state
// directory's run started still works on the server root, and removes an
// installer answers copy a killed run left (it holds secrets).
func (u *upgradeRun) lock(s *session, now time.Time) error {
	l, err := journal.LockServerRoot(u.cfg.Host.ServerRoot(), s.state, now)
	if err != nil {
		return err
	}
	s.hostLock = l
	if err := steps.RefuseAnotherRunsInstaller(context.Background(), u.cfg); err != nil {
		l.Close()
		s.hostLock = nil
		return err
	}
	if removed, err := steps.ScrubInstallerAnswers(context.Background(), u.cfg); err != nil {
		s.env.Log.Error("installer answers copy", "err", err)
	} else if removed {
		s.env.Log.Info("removed the installer's answers copy an interrupted run left", "path", u.cfg.InstallerAnswersPath())
	}
	return nil
}

// beforeRetry: never a second installer, nor a restore under the first.
// reach: the upgrade acts on the host the wizard runs on only.
func (u *upgradeRun) reach(context.Context, *session) error { return nil }

func (u *upgradeRun) beforeRetry(step string) error {
	if step != steps.IDRunInstaller {
		return nil
	}
	return steps.RefuseWhileInstallerRuns(context.Background(), u.cfg)
}

// remember: the upgrade is loaded again from answers.path alone.
func (u *upgradeRun) remember(string) error { return nil }

// keptSafe: the backups and the LDIF exports are listed for every run.
func (u *upgradeRun) keptSafe(io.Writer, string) {}

func (u *upgradeRun) estimate(ctx context.Context, s *session, rep *wizard.PlanReport) error {
	m, err := measureHost(ctx, u.cfg)
	if err != nil {
		return err
	}
	m.apply(rep)
	return nil
}

func (u *upgradeRun) face(ctx context.Context, s *session, c *common, r *wizard.Runner, o *tui.Options) {
	o.BackupDir, o.LDIFDir = u.answers.BackupDir, filepath.Join(s.state, "ldif")
	o.BackoutProcedure = u.backoutProcedure()
	if o.Mode != "backout" {
		o.Preflight = detect(ctx, s, u)
		o.Review = review(s, c, r)
	}
}

// onlyUpgrade is the refusal of a command that applies to the Messaging
// Server upgrade alone.
func onlyUpgrade(what string) error {
	return usagef("this command applies to the Messaging Server upgrade, not to %s", what)
}
