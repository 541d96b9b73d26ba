package runbook

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"time"

	"mswizard/backup"
	"mswizard/steps/node"
	"mswizard/wizard"
)

// serviceStep starts or stops a service through a regime.
//
// rc: an LSB-style init script, "SCRIPT start|stop|status"; status exits 0
// when the service runs and 1, 2 or 3 when it does not (LSB Core, "Init
// Script Actions"); any other status is "cannot tell", never "stopped".
//
// daemontools (svc(8), svstat(8), svok(8), svscan(8)): supervised links the
// service directory into the scan directory, where svscan starts supervise on
// it within five seconds; its undo is the safe removal of seed 001: svc -d the
// service and its log, move the link to a dot-name (svscan ignores those),
// svc -dx both so supervise exits, and remove the dot link once it has. up and
// down are svc -u / svc -d, each the other's undo.
type serviceStep struct {
	base
	s ServiceSpec
}

func (s *serviceStep) phase() wizard.Phase {
	return s.declare(wizard.Phase{Check: s.Check, Plan: s.Plan, Undo: s.Undo, UndoText: s.undoText(), InDoubt: s.resolveInDoubt})
}

func (s *serviceStep) Check(ctx context.Context, env *wizard.Env) (bool, string, error) {
	switch s.s.Regime {
	case RegimeRC:
		running, why, err := s.rcStatus(ctx)
		if err != nil {
			return false, "", err
		}
		return running == (s.s.State == SvcStarted), why, nil
	}
	switch s.s.State {
	case SvcSupervised:
		fi, err := s.n.Lstat(ctx, s.s.Dir)
		if errors.Is(err, fs.ErrNotExist) {
			return false, s.s.Dir + " is not in the scan directory", nil
		}
		if err != nil {
			return false, "", err
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			return false, s.s.Dir + " is not a symlink", nil
		}
		if t, err := s.n.ReadLink(ctx, s.s.Dir); err != nil || t != s.s.Source {
			return false, fmt.Sprintf("%s points at %s, not %s", s.s.Dir, t, s.s.Source), err
		}
		for _, d := range s.dirs(s.s.Dir) {
			if ok, err := s.svok(ctx, d); err != nil || !ok {
				return false, "supervise is not running on " + d, err
			}
		}
		return true, fmt.Sprintf("%s links %s and supervise runs on it", s.s.Dir, s.s.Source), nil
	default:
		st, err := svstat(ctx, s.n, s.s.Dir)
		if err != nil {
			return false, "", err
		}
		return st.up == (s.s.State == SvcUp), "svstat: " + st.line, nil
	}
}

func (s *serviceStep) rcStatus(ctx context.Context) (bool, string, error) {
	argv := []string{s.s.Script, "status"}
	res, err := s.n.Run(ctx, node.Command{Argv: argv, Timeout: s.s.Timeout})
	if err != nil {
		return false, "", fmt.Errorf("%s: %w", wizard.ShellQuote(argv...), err)
	}
	why := fmt.Sprintf("`%s` exited %d: %s", wizard.ShellQuote(argv...), res.ExitCode, lastLine(string(res.Output)))
	switch res.ExitCode {
	case 0:
		return true, why, nil
	case 1, 2, 3:
		return false, why, nil
	}
	return false, "", fmt.Errorf("%s; LSB status codes 0 (running) and 1-3 (not running) are the only ones the wizard trusts", why)
}

// dirs is the service and, when it has one, its log service.
func (s *serviceStep) dirs(d string) []string {
	if s.s.Log {
		return []string{d, filepath.Join(d, "log")}
	}
	return []string{d}
}

func (s *serviceStep) svok(ctx context.Context, dir string) (bool, error) {
	res, err := s.n.Run(ctx, node.Command{Argv: []string{"svok", dir}, Timeout: 10 * time.Second})
	if err != nil {
		return false, err
	}
	return res.ExitCode == 0, nil
}

// poll waits until cond holds or the step's timeout passes.
func (s *serviceStep) poll(ctx context.Context, what string, cond func() (bool, string, error)) error {
	deadline := time.Now().Add(s.s.Timeout)
	for {
		ok, why, err := cond()
		if err == nil && ok {
			return nil
		}
		if time.Now().After(deadline) {
			if err != nil {
				why = err.Error()
			}
			return fmt.Errorf("%s: not within %s (%s)", what, s.s.Timeout, why)
		}
		if err := wizard.Sleep(ctx, 200*time.Millisecond); err != nil {
			return err
		}
	}
}

func (s *serviceStep) rcAction(env *wizard.Env, verb string) wizard.Action {
	argv := []string{s.s.Script, verb}
	want := verb == "start"
	return wizard.Action{Summary: wizard.ShellQuote(argv...) + " (then `" + wizard.ShellQuote(s.s.Script, "status") + "` until it says so)", Idempotent: true,
		Do: func(ctx context.Context, rc *wizard.Receipt) error {
			if _, err := runCmd(ctx, env, s.id, s.n, node.Command{Argv: argv, Timeout: s.s.Timeout}, nil, rc); err != nil {
				return err
			}
			return s.poll(ctx, wizard.ShellQuote(argv...), func() (bool, string, error) {
				running, why, err := s.rcStatus(ctx)
				return running == want, why, err
			})
		}}
}

func (s *serviceStep) svc(env *wizard.Env, flag, dir string, onlyIfSupervised bool) wizard.Action {
	return wizard.Action{Summary: "svc " + flag + " " + dir, Idempotent: true, Do: func(ctx context.Context, rc *wizard.Receipt) error {
		if _, err := s.n.Lstat(ctx, dir); errors.Is(err, fs.ErrNotExist) {
			rc.Note = dir + " is gone: nothing to signal"
			return nil
		}
		if onlyIfSupervised {
			if ok, err := s.svok(ctx, dir); err != nil {
				return err
			} else if !ok {
				rc.Note = "supervise is not running on " + dir + ": nothing to signal"
				return nil
			}
		}
		_, err := runCmd(ctx, env, s.id, s.n, node.Command{Argv: []string{"svc", flag, dir}, Timeout: 10 * time.Second}, nil, rc)
		return err
	}}
}

// flip is a state one command reaches and one command takes back, each the
// other's undo: the rc script's start and stop, svc -u and svc -d. A
// supervised service is no flip: its plan links it into the scan directory
// and its undo is seed 001's safe removal.
type flip struct{ regime, state, do, undo string }

// flipOf is the step's flip, if its state is one.
func (s *serviceStep) flipOf() (flip, bool) {
	for _, f := range []flip{
		{RegimeRC, SvcStarted, "start", "stop"},
		{RegimeRC, SvcStopped, "stop", "start"},
		{RegimeDaemontools, SvcUp, "-u", "-d"},
		{RegimeDaemontools, SvcDown, "-d", "-u"},
	} {
		if f.regime == s.s.Regime && f.state == s.s.State {
			return f, true
		}
	}
	return flip{}, false
}

// flipAction runs one of a flip's commands: the script's verb, or svc's flag.
// svc only asks supervise (svc(8)); the action waits until svstat says the
// service is up or down, so a service that ignores TERM fails the step
// rather than passing it.
func (s *serviceStep) flipAction(env *wizard.Env, verb string) wizard.Action {
	if s.s.Regime == RegimeRC {
		return s.rcAction(env, verb)
	}
	a := s.svc(env, verb, s.s.Dir, false)
	want := verb == "-u"
	word := map[bool]string{true: "up", false: "down"}[want]
	do := a.Do
	a.Summary += fmt.Sprintf(" (then svstat until it says %s)", word)
	a.Do = func(ctx context.Context, rc *wizard.Receipt) error {
		if err := do(ctx, rc); err != nil {
			return err
		}
		if _, err := s.n.Lstat(ctx, s.s.Dir); errors.Is(err, fs.ErrNotExist) {
			return nil // nothing was signalled (the receipt says so)
		}
		return s.poll(ctx, "svc "+verb+" "+s.s.Dir, func() (bool, string, error) {
			st, err := svstat(ctx, s.n, s.s.Dir)
			return st.up == want, "svstat: " + st.line, err
		})
	}
	return a
}

func (s *serviceStep) Plan(ctx context.Context, env *wizard.Env) ([]wizard.Action, error) {
	if f, ok := s.flipOf(); ok {
		return []wizard.Action{s.flipAction(env, f.do)}, nil
	}
	link := wizard.Action{Summary: fmt.Sprintf("ln -s %s %s", s.s.Source, s.s.Dir), Idempotent: true, Do: func(ctx context.Context, rc *wizard.Receipt) error {
		if t, err := s.n.ReadLink(ctx, s.s.Dir); err == nil && t == s.s.Source {
			return nil
		}
		return s.n.Symlink(ctx, s.s.Source, s.s.Dir)
	}}
	wait := wizard.Action{Summary: fmt.Sprintf("wait up to %s until svscan runs supervise on %s (svok)", s.s.Timeout, wizard.ShellQuote(s.dirs(s.s.Dir)...)), Idempotent: true,
		Do: func(ctx context.Context, rc *wizard.Receipt) error {
			for _, d := range s.dirs(s.s.Dir) {
				err := s.poll(ctx, "supervise on "+d, func() (bool, string, error) {
					ok, err := s.svok(ctx, d)
					return ok, "svok " + d + " fails", err
				})
				if err != nil {
					return err
				}
			}
			st, err := svstat(ctx, s.n, s.s.Dir)
			if err == nil {
				rc.Note = "svstat: " + st.line
				env.Output(s.id, st.line)
			}
			return nil
		}}
	return []wizard.Action{link, wait}, nil
}

func (s *serviceStep) Undo(ctx context.Context, env *wizard.Env, _ []wizard.Receipt) ([]wizard.Action, error) {
	if f, ok := s.flipOf(); ok {
		return []wizard.Action{s.flipAction(env, f.undo)}, nil
	}
	dot := filepath.Join(filepath.Dir(s.s.Dir), "."+filepath.Base(s.s.Dir))
	var out []wizard.Action
	// Seed 001's safe removal, in its order.
	for _, d := range s.dirs(s.s.Dir) {
		out = append(out, s.svc(env, "-d", d, true))
	}
	out = append(out, wizard.Action{Summary: fmt.Sprintf("mv %s %s", s.s.Dir, dot), Idempotent: true, Do: func(ctx context.Context, rc *wizard.Receipt) error {
		if _, err := s.n.Lstat(ctx, s.s.Dir); errors.Is(err, fs.ErrNotExist) {
			rc.Note = s.s.Dir + " already moved"
			return nil
		}
		return s.n.Rename(ctx, s.s.Dir, dot)
	}})
	// The exit is sent as -dx (svc(8): down, then exit): a supervise svscan
	// started between the svok check and the move still takes its service
	// down before it exits.
	for _, d := range s.dirs(dot) {
		out = append(out, s.svc(env, "-dx", d, true))
	}
	out = append(out, wizard.Action{Summary: fmt.Sprintf("wait up to %s until supervise has exited on %s (svok fails)", s.s.Timeout, wizard.ShellQuote(s.dirs(dot)...)), Idempotent: true,
		Do: func(ctx context.Context, rc *wizard.Receipt) error {
			for _, d := range s.dirs(dot) {
				if _, err := s.n.Lstat(ctx, d); errors.Is(err, fs.ErrNotExist) {
					continue
				}
				err := s.poll(ctx, "supervise leaving "+d, func() (bool, string, error) {
					ok, err := s.svok(ctx, d)
					return !ok, "supervise still runs on " + d, err
				})
				if err != nil {
					return err
				}
			}
			return nil
		}})
	out = append(out, wizard.Action{Summary: "rm " + dot + " (the link only; the service directory stays)", Idempotent: true, Do: func(ctx context.Context, rc *wizard.Receipt) error {
		fi, err := s.n.Lstat(ctx, dot)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			return fmt.Errorf("%s is not the symlink this step made; remove it by hand", dot)
		}
		return s.n.Remove(ctx, dot)
	}})
	return out, nil
}

func (s *serviceStep) undoText() string {
	f, ok := s.flipOf()
	switch {
	case !ok:
		return "removes it safely: svc -d, the link moved to a dot-name, svc -x, the link removed"
	case s.s.Regime == RegimeRC && f.undo == "start":
		return "starts it again: " + wizard.ShellQuote(s.s.Script, f.undo)
	case s.s.Regime == RegimeRC:
		return "stops it again: " + wizard.ShellQuote(s.s.Script, f.undo)
	}
	return "svc " + f.undo + " " + s.s.Dir
}

// resolveInDoubt: every service action is idempotent and verified, so one the
// wizard was killed in is run again unless the goal already holds.
func (s *serviceStep) resolveInDoubt(ctx context.Context, env *wizard.Env, _ int, _ string) (wizard.Resolution, error) {
	done, _, err := s.Check(ctx, env)
	if err != nil {
		return wizard.Undecided, err
	}
	if done {
		return wizard.WasDone, nil
	}
	return wizard.NotDone, nil
}

// ---- backup ----

// backupStep archives a directory of the control host with package backup
// (tar + zstd with a sha256 manifest) and verifies the archive before the
// step counts as done. Its undo keeps the archive: there is nothing to take back.
type backupStep struct {
	base
	b BackupSpec
}

type backupRecord struct {
	Archive        string `json:"archive"`
	Manifest       string `json:"manifest"`
	ManifestSHA256 string `json:"manifest_sha256"`
	Files          int64  `json:"files"`
}

func (s *backupStep) phase() wizard.Phase {
	return s.declare(wizard.Phase{Check: s.Check, Plan: s.Plan, Undo: s.Undo, UndoText: "keeps the archive (a later run makes a new one)"})
}

func (s *backupStep) Check(ctx context.Context, env *wizard.Env) (bool, string, error) {
	var r backupRecord
	have, err := s.loadJSON("backup.json", &r)
	if err != nil || !have {
		return false, "no archive of " + s.b.Path + " made by this run yet", err
	}
	if err := backup.Verify(ctx, r.Archive, r.Manifest, nil); err != nil {
		return false, fmt.Sprintf("the archive %s does not verify: %v", r.Archive, err), nil
	}
	return true, fmt.Sprintf("%s archived and verified in %s", s.b.Path, r.Archive), nil
}

func (s *backupStep) Plan(ctx context.Context, env *wizard.Env) ([]wizard.Action, error) {
	return []wizard.Action{{Summary: fmt.Sprintf("archive %s into %s (%s-TIMESTAMP.tar.zst) and verify it against its manifest", s.b.Path, s.b.Dest, s.b.Name), Idempotent: true,
		Do: func(ctx context.Context, rc *wizard.Receipt) error {
			res, err := backup.Create(ctx, backup.Options{Source: s.b.Path, Dest: s.b.Dest, Name: s.b.Name + "-" + env.Now().UTC().Format("20060102T150405Z"), Exclude: s.b.Exclude, Verify: true,
				Progress: func(p backup.Progress) {
					env.Progress(wizard.Progress{What: "bytes", Done: p.Bytes, Total: p.TotalBytes, DoneFiles: p.Files, TotalFiles: p.TotalFiles})
				}})
			if err != nil {
				return err
			}
			r := backupRecord{Archive: res.Archive, Manifest: res.Manifest, ManifestSHA256: res.ManifestSHA256, Files: res.Files}
			if err := s.saveJSON("backup.json", r); err != nil {
				return err
			}
			rc.Files = []wizard.FileHash{{Path: res.Archive, Size: res.ArchiveSize}}
			rc.Note = fmt.Sprintf("%d files, manifest sha256 %s, verified", res.Files, res.ManifestSHA256)
			return rc.SetData(r)
		}}}, nil
}

// Undo keeps the archive and forgets it as this run's: a run after the
// backout archives the host as it is then, rather than trusting the old one.
func (s *backupStep) Undo(context.Context, *wizard.Env, []wizard.Receipt) ([]wizard.Action, error) {
	return []wizard.Action{{Summary: fmt.Sprintf("keep the archive of %s in %s; a later run makes a new one", s.b.Path, s.b.Dest), Idempotent: true,
		Do: func(context.Context, *wizard.Receipt) error { return s.clearSaved() }}}, nil
}
