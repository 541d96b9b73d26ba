package steps

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"mswizard/internal/atomicfile"
	"mswizard/wizard"
)

// The backout of the co-located Directory Server, in the appendix's order
// (seed 003, backout steps 1 and 5): check/directory-instance's undo stops
// it after the Messaging Server and before the Administration Server — so
// before the server root is restored from its archive, which brings back its
// configuration; backup/directory-instance's undo loads its data from the
// export with ldif2db (the server stopped, F-DSI-004), starts it after the
// Administration Server and before the Messaging Server, and proves it
// answers with the exported entry counts.

// alreadyCode is what start-slapd and stop-slapd exit with when the server
// already is as asked (F-DSI-005).
const alreadyCode = 2

// runScript runs start-slapd or stop-slapd; exit 2 ("already started",
// "already stopped") is success.
func runScript(ctx context.Context, env *wizard.Env, r *wizard.Receipt, cmd wizard.Command) error {
	cmd.Output = lineWriter(func(l string) { env.Output(r.Step, l) })
	res, err := env.Exec.Run(ctx, cmd)
	r.Command = &res
	var ee *wizard.ExitError
	if errors.As(err, &ee) && ee.Result.ExitCode == alreadyCode {
		return nil
	}
	return err
}

// stopInstance runs stop-slapd and proves the instance down by the process
// table and the listening sockets; evidence that cannot be read is never
// taken for "down".
func (s *dsSteps) stopInstance(ctx context.Context, env *wizard.Env, r *wizard.Receipt, d dsInstance) (string, error) {
	if err := runScript(ctx, env, r, d.stopCmd(s.c.Answers.StopTimeout)); err != nil {
		return "", fmt.Errorf("stop %s: %w", d.Name, err)
	}
	why, err := s.waitState(ctx, env, d, notRunning, s.c.Answers.StopTimeout)
	if err != nil {
		return "", fmt.Errorf("stop %s: it is not proved down: %w", d.Name, err)
	}
	return why, nil
}

// stopUndo is check/directory-instance's undo: stop each recorded instance.
func (s *dsSteps) stopUndo(ctx context.Context, env *wizard.Env, rs []wizard.Receipt) ([]wizard.Action, error) {
	var as []wizard.Action
	for _, d := range latestPerInstance(rs, func(r wizard.Receipt) (dsInstance, bool) {
		var rec dsCheckRecord
		if len(r.Data) == 0 || r.DataInto(&rec) != nil || rec.Instance.Dir == "" {
			return dsInstance{}, false
		}
		return rec.Instance, true
	}) {
		as = append(as, wizard.Action{
			Summary:    fmt.Sprintf("%s, proved down: no process names %s and nothing listens on port %d", d.stopCmd(0), d.Dir, d.Port),
			Idempotent: true, // stop-slapd on a stopped server exits 2
			Do: func(ctx context.Context, r *wizard.Receipt) error {
				why, err := s.stopInstance(ctx, env, r, d)
				if err != nil {
					return err
				}
				r.Note = d.Name + " stopped: " + why
				return nil
			},
		})
	}
	return as, nil
}

// restoreUndo is backup/directory-instance's undo: for each exported
// instance, load the exports and start it again if it ran.
func (s *dsSteps) restoreUndo(ctx context.Context, env *wizard.Env, rs []wizard.Receipt) ([]wizard.Action, error) {
	var recs []dsExportRecord
	seen := map[string]int{}
	for _, r := range rs {
		var rec dsExportRecord
		if len(r.Data) == 0 || r.DataInto(&rec) != nil || rec.Instance.Dir == "" {
			continue
		}
		if i, ok := seen[rec.Instance.Dir]; ok {
			recs[i] = rec // a later try's export replaces an earlier one's
			continue
		}
		seen[rec.Instance.Dir] = len(recs)
		recs = append(recs, rec)
	}
	var as []wizard.Action
	for _, rec := range recs {
		d := rec.Instance
		var cmds, counts []string
		for _, f := range rec.Files {
			cmds = append(cmds, d.importCmd(dsBackend{Name: f.Backend, Suffix: f.Suffix}, f.Path).String())
			counts = append(counts, fmt.Sprintf("%s %d", f.Suffix, f.Entries))
		}
		as = append(as, wizard.Action{
			Summary: fmt.Sprintf("load %s from its export, each file checked against its sha256 first and the server stopped: %s",
				d.Name, strings.Join(cmds, "; ")),
			Idempotent: true, // ldif2db replaces the backend's data whole
			Do: func(ctx context.Context, r *wizard.Receipt) error {
				return s.load(ctx, env, r, rec)
			},
		})
		if !rec.Running {
			continue // it did not run when the upgrade began: left stopped
		}
		as = append(as, wizard.Action{
			Summary:    fmt.Sprintf("%s, and prove it answers with the exported entry counts (%s)", d.startCmd(0), strings.Join(counts, ", ")),
			Idempotent: true, // start-slapd on a running server exits 2
			Do: func(ctx context.Context, r *wizard.Receipt) error {
				return s.startAndProve(ctx, env, r, rec)
			},
		})
	}
	return as, nil
}

// load checks every export against its receipt, makes sure the server is
// stopped (it is, when check/directory-instance's undo ran; a run that ended
// between the two steps has it still running) and runs ldif2db per backend.
func (s *dsSteps) load(ctx context.Context, env *wizard.Env, r *wizard.Receipt, rec dsExportRecord) error {
	d := rec.Instance
	for _, f := range rec.Files {
		got, err := fileFacts(f.Path)
		if err != nil {
			return fmt.Errorf("the export of %s %s cannot be read: %w", d.Name, f.Backend, err)
		}
		if got.SHA256 != f.SHA256 || got.Entries != f.Entries {
			return fmt.Errorf("the export %s changed since it was made (sha256 %s, %d entries; recorded %s, %d entries): it is not loaded",
				f.Path, got.SHA256, got.Entries, f.SHA256, f.Entries)
		}
	}
	var notes []string
	switch st, why := s.evidence(ctx, d); st {
	case runUnknown:
		return fmt.Errorf("%s: cannot tell whether it runs (%s); ldif2db needs it stopped", d.Name, why)
	case isRunning:
		// Its stop step never ran (the run ended before it): stop it here.
		why, err := s.stopInstance(ctx, env, r, d)
		if err != nil {
			return err
		}
		notes = append(notes, "stopped first: "+why)
	}
	for _, f := range rec.Files {
		cmd := d.importCmd(dsBackend{Name: f.Backend, Suffix: f.Suffix}, f.Path)
		cmd.Output = lineWriter(func(l string) { env.Output(r.Step, l) })
		res, err := env.Exec.Run(ctx, cmd)
		r.Command = &res
		if err != nil {
			return fmt.Errorf("load %s of %s: %w", f.Backend, d.Name, err)
		}
		notes = append(notes, fmt.Sprintf("%s loaded from %s (%d entries)", f.Backend, f.Path, f.Entries))
		r.Files = append(r.Files, wizard.FileHash{Path: f.Path, Size: f.Bytes, SHA256: f.SHA256})
	}
	r.Note = d.Name + ": " + strings.Join(notes, "; ")
	return nil
}

// startAndProve starts the instance and waits until every backend answers
// with its exported entry count.
func (s *dsSteps) startAndProve(ctx context.Context, env *wizard.Env, r *wizard.Receipt, rec dsExportRecord) error {
	d := rec.Instance
	timeout := s.c.Answers.StartTimeout
	if err := runScript(ctx, env, r, d.startCmd(timeout)); err != nil {
		return fmt.Errorf("start %s: %w", d.Name, err)
	}
	deadline := env.Now().Add(timeout)
	for {
		got, err := s.counts(ctx, d, rec.Files)
		if err == nil {
			r.Note = fmt.Sprintf("%s answers: %s", d.Name, got)
			return nil
		}
		var mismatch countMismatch
		if errors.As(err, &mismatch) || !env.Now().Before(deadline) {
			return fmt.Errorf("%s started, but %w", d.Name, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// countMismatch is a server that answers with other counts than the export's.
type countMismatch string

func (m countMismatch) Error() string { return string(m) }

// counts asks the server for each backend's count and compares it with the
// export's.
func (s *dsSteps) counts(ctx context.Context, d dsInstance, files []dsExportFile) (string, error) {
	var got []string
	for _, f := range files {
		n, err := s.count(ctx, d, dsBackend{Name: f.Backend, Suffix: f.Suffix})
		if err != nil {
			return "", fmt.Errorf("it does not answer: %w", err)
		}
		if n != f.Entries {
			return "", countMismatch(fmt.Sprintf("it counts %d entries under %s, the export %s holds %d", n, f.Suffix, f.Path, f.Entries))
		}
		got = append(got, fmt.Sprintf("%s %d entries, as exported", f.Suffix, n))
	}
	return strings.Join(got, ", "), nil
}

// latestPerInstance reads the instances from receipts, the latest receipt
// of each instance directory winning, in order of first appearance.
func latestPerInstance(rs []wizard.Receipt, read func(wizard.Receipt) (dsInstance, bool)) []dsInstance {
	var out []dsInstance
	seen := map[string]int{}
	for _, r := range rs {
		d, ok := read(r)
		if !ok {
			continue
		}
		if i, ok := seen[d.Dir]; ok {
			out[i] = d
			continue
		}
		seen[d.Dir] = len(out)
		out = append(out, d)
	}
	return out
}

// dsInstancesDown refuses a backout's restore of the server root while a
// Directory Server instance inside it runs: its database files would be
// swapped under it. The backout stops it first (check/directory-instance's
// undo, in the appendix's stop order); a journal without that step, or a
// server started again by hand, stops here.
func (c *Config) dsInstancesDown(ctx context.Context) error { return newDSSteps(c).instancesDown(ctx) }

func (s *dsSteps) instancesDown(ctx context.Context) error {
	found, _, err := s.instances()
	if err != nil {
		return err
	}
	for _, d := range found {
		switch st, why := s.evidence(ctx, d); st {
		case isRunning:
			return fmt.Errorf("the Directory Server instance %s runs (%s): the server root is not restored under it; stop it with %s, then rerun `mswizard backout` (its data comes back from the export, or from the archive when the run made none)",
				d.Name, why, d.stopCmd(0))
		case runUnknown:
			return fmt.Errorf("cannot tell whether the Directory Server instance %s runs (%s): the server root is not restored under a server that may run", d.Name, why)
		}
	}
	return nil
}

// stopNow is service.Config.DirectoryStop: post/start's undo stops every
// instance of the server root between the Messaging Server and the
// Administration Server, whether or not this run's check/directory-instance
// recorded it (an instance there always is, so the action list stays the same
// across a resumed backout; stop-slapd on a stopped server exits 2).
func (s *dsSteps) stopNow(ctx context.Context, env *wizard.Env) ([]wizard.Action, error) {
	found, _, err := s.instances()
	if err != nil {
		return nil, err
	}
	var as []wizard.Action
	for _, d := range found {
		as = append(as, wizard.Action{
			Summary:    fmt.Sprintf("%s, proved down: no process names %s and nothing listens on port %d (the Directory Server stops before the Administration Server)", d.stopCmd(0), d.Dir, d.Port),
			Idempotent: true,
			Do: func(ctx context.Context, r *wizard.Receipt) error {
				why, err := s.stopInstance(ctx, env, r, d)
				if err != nil {
					return err
				}
				r.Note = d.Name + " stopped: " + why
				return nil
			},
		})
	}
	return as, nil
}

// dsCarries lists the Directory Server instances a restore of the server
// root carries through, as {carried, home} pairs: those that run (or may run:
// evidence that cannot be read is never "down") — the upgrade keeps the
// Directory Server up (appendix C), and a retry of a half-done installer run
// restores the server root under it — and those an interrupted restore left
// in the carry. A backout's restore finds none running: its instances are
// stopped first (dsInstancesDown) and come back from the archive and the export.
func (c *Config) dsCarries(ctx context.Context, carry string) ([][2]string, error) {
	s := newDSSteps(c)
	found, _, err := s.instances()
	if err != nil {
		return nil, err
	}
	var out [][2]string
	seen := map[string]bool{}
	for _, d := range found {
		if st, _ := s.evidence(ctx, d); st != notRunning {
			out = append(out, [2]string{filepath.Join(carry, "directory", d.Name), d.Dir})
			seen[d.Name] = true
		}
	}
	left, _ := os.ReadDir(filepath.Join(carry, "directory"))
	for _, e := range left {
		if !seen[e.Name()] {
			out = append(out, [2]string{filepath.Join(carry, "directory", e.Name()), filepath.Join(c.Host.ServerRoot(), e.Name())})
		}
	}
	if len(out) > 0 {
		if err := os.MkdirAll(filepath.Join(carry, "directory"), 0o700); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// dsCarryBack puts the carried instances back in place of the restored copies.
func dsCarryBack(moves [][2]string) error {
	for _, m := range moves {
		if _, err := os.Lstat(m[0]); err != nil {
			continue
		}
		if err := os.RemoveAll(m[1]); err != nil {
			return fmt.Errorf("carry the Directory Server %s back: %w", m[1], err)
		}
		if err := atomicfile.Rename(m[0], m[1]); err != nil {
			return fmt.Errorf("carry the Directory Server %s back: %w", m[1], err)
		}
	}
	if len(moves) > 0 {
		_ = os.Remove(filepath.Dir(moves[0][0]))
	}
	return nil
}
