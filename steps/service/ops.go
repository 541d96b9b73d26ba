package service

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"mswizard/wizard"
)

// step is what the check, plan and undo of every step of this package close
// over: the configuration with its defaults applied. The step itself is the
// wizard.Phase its constructor declares.
type step struct {
	c Config
}

func (c Config) plain() Plain {
	return Plain{W: c.Host, StopTimeout: c.StopTimeout, StartTimeout: c.StartTimeout}
}
func (c Config) daemontools() Daemontools { return Daemontools{Bin: c.SvcBin, Timeout: c.StopTimeout} }
func (c Config) sc22() SunCluster22 {
	return SunCluster22{Bin: c.Cluster.Bin, Service: c.Cluster.HaregService}
}
func (c Config) sc3() SunCluster3 {
	return SunCluster3{Bin: c.Cluster.Bin, Resource: c.Cluster.Resource, Group: c.Cluster.Group}
}
func (c Config) vcs() Veritas {
	return Veritas{Bin: c.Cluster.Bin, Group: c.Cluster.Group, System: c.Cluster.System}
}

// messagingStop is the regime's stop of the whole messaging server (see
// regime.StopMessaging): never a whole-server stop-msg under HA (host-facts:
// F-CMD-007); ok is false where the regime has none (Sun Cluster 2.2) and the
// caller stops each service with `stop-msg SERVICE`.
func (c Config) messagingStop() (cmd wizard.Command, ok bool) {
	cmd, ok = c.driver().StopMessaging(c)
	cmd.Timeout = c.StopTimeout
	return cmd, ok
}

// messagingStart is the regime's start of the whole messaging server.
func (c Config) messagingStart() wizard.Command {
	cmd := c.driver().StartMessaging(c)
	cmd.Timeout = c.StartTimeout
	return cmd
}

// stopCmd and startCmd map an operation recorded in a receipt to its commands.
func (c Config) stopCmd(op, arg string) (wizard.Command, bool) {
	p := c.plain()
	switch op {
	case "dispatcher":
		return p.StopDispatcher(), true
	case "msg", "msg-ha":
		return c.messagingStop()
	case "msg-svc":
		return p.StopMsg(arg), true
	case "admin":
		return p.StopAdmin(), true
	case "web":
		return p.StopWeb(arg), true
	case "svc":
		return c.daemontools().Down(arg), true
	}
	return wizard.Command{}, false
}

func (c Config) startCmd(op, arg string) (wizard.Command, bool) {
	p := c.plain()
	switch op {
	case "dispatcher":
		return p.StartDispatcher(), true
	case "msg", "msg-ha":
		return c.messagingStart(), true
	case "msg-svc":
		return p.StartMsg(arg), true
	case "admin":
		return p.StartAdmin(), true
	case "web":
		return p.StartWeb(arg), true
	case "svc":
		d := c.daemontools()
		d.Timeout = c.StartTimeout
		return d.Up(arg), true
	}
	return wizard.Command{}, false
}

// stopOrder stops the watcher first, so nothing restarts what is being stopped,
// then the others in reverse start order.
func stopOrder(names []string) []string {
	var out, rest []string
	for _, n := range names {
		if n == "watcher" {
			out = append(out, n)
		} else {
			rest = append(rest, n)
		}
	}
	slices.Reverse(rest)
	return append(out, rest...)
}

func unitNames(us []unit) []string {
	out := make([]string, len(us))
	for i, u := range us {
		out[i] = u.Name
	}
	return out
}

// stopAction runs cmd and then waits, within StopTimeout, until every unit is
// down. A stop command that exits 0 while a unit's process lives is an error
// naming the process. The receipt records which units ran before, for Undo.
func (c Config) stopAction(env *wizard.Env, op, arg string, cmd wizard.Command, units []unit) wizard.Action {
	return wizard.Action{
		Summary:    cmd.String(),
		Idempotent: true,
		Do: func(ctx context.Context, r *wizard.Receipt) error {
			d := opData{Op: op, Arg: arg}
			for _, u := range units {
				st, err := c.observe(ctx, u)
				if err != nil {
					return err
				}
				d.Before = append(d.Before, st)
			}
			// Record who was up before the command runs, in the intent; the
			// first record of the run wins, so a rerun after a kill mid-stop
			// still knows what to start again.
			hs, err := loadState(env)
			if err != nil {
				return err
			}
			d.WasUp = map[string]bool{}
			for i, u := range units {
				was, ok := hs.WasRunning[u.Name]
				if !ok {
					was = !d.Before[i].down()
				}
				d.WasUp[u.Name] = was
				if !d.Before[i].down() || was {
					d.Units = append(d.Units, u.Name)
				}
			}
			if err := setData(env, r, d); err != nil {
				return err
			}
			if err := run(ctx, env, r, cmd); err != nil {
				return fmt.Errorf("stop: %w", err)
			}
			// The proof: the same evidence, read again until every unit is
			// down, kept in the receipt (host-facts: F-PROC-001, F-PROC-002).
			deadline := time.Now().Add(c.StopTimeout)
			var errs []string
			for _, u := range units {
				st, err := c.waitDown(ctx, u, deadline, c.StopTimeout)
				if err != nil {
					errs = append(errs, err.Error())
				}
				d.After = append(d.After, st)
			}
			if err := r.SetData(d); err != nil {
				return err
			}
			if len(errs) > 0 {
				return fmt.Errorf("%s did not stop everything: %s", cmd, strings.Join(errs, "; "))
			}
			r.Note = "proved stopped: " + proof(d.After)
			return nil
		},
	}
}

// proofAction is the stop of a unit already down when its step runs: it runs
// no command, reads the same evidence again and journals it in its receipt
// ("proved stopped: …"), so no stop is skipped without the proof in the
// journal (issue 13 part 3). A unit found running again since the plan fails
// the action naming it: the rerun plans its stop. Op and arg are the stop's
// own, so a unit an earlier, killed run stopped (hostState.WasRunning) is
// still started again by the undo.
func (c Config) proofAction(env *wizard.Env, op, arg string, u unit) wizard.Action {
	return wizard.Action{
		Summary:    "prove " + u.Name + " stopped (process table, listening sockets)",
		Idempotent: true,
		Do: func(ctx context.Context, r *wizard.Receipt) error {
			st, err := c.observe(ctx, u)
			if err != nil {
				return err
			}
			if !st.down() {
				return fmt.Errorf("%s is not proved stopped (%s): run again to plan its stop", u.Name, st.describe())
			}
			hs, err := loadState(env)
			if err != nil {
				return err
			}
			d := opData{Op: op, Arg: arg, Before: []status{st}, After: []status{st}, WasUp: map[string]bool{u.Name: hs.WasRunning[u.Name]}}
			if hs.WasRunning[u.Name] {
				d.Units = []string{u.Name}
			}
			if err := setData(env, r, d); err != nil {
				return err
			}
			r.Note = "proved stopped: " + proof(d.After)
			return nil
		},
	}
}

// proof summarises the evidence that units are down, for the receipt.
func proof(sts []status) string {
	var out []string
	src := ""
	for _, st := range sts {
		out = append(out, st.describe())
		src = st.Source
	}
	if src != "" {
		return strings.Join(out, "; ") + " (read from " + src + ")"
	}
	return strings.Join(out, "; ")
}

// startAction runs cmd and then waits, within StartTimeout, until every unit
// answers, in order. The earlier units must still answer afterwards: one that
// died meanwhile crashed, and the manual says to stop everything and start again.
func (c Config) startAction(env *wizard.Env, op, arg string, cmd wizard.Command, units, earlier []unit) wizard.Action {
	return wizard.Action{
		Summary:    cmd.String(),
		Idempotent: true,
		Do: func(ctx context.Context, r *wizard.Receipt) error {
			d := opData{Op: op, Arg: arg, Units: unitNames(units)}
			for _, u := range earlier {
				st, err := c.observe(ctx, u)
				if err != nil {
					return err
				}
				d.Before = append(d.Before, st)
			}
			if err := setData(env, r, d); err != nil {
				return err
			}
			if err := run(ctx, env, r, cmd); err != nil {
				return fmt.Errorf("start: %w", err)
			}
			deadline := time.Now().Add(c.StartTimeout)
			conf, err := ReadConfig(c.Host)
			if err != nil {
				return err
			}
			var errs, skipped []string
			for _, u := range units {
				if isMessaging(u.Name) && !conf.Enabled(u.Name) {
					// start-msg skips a disabled service (seed 000 §4.4.2.1); a
					// later step or undo that enables it starts it.
					skipped = append(skipped, u.Name)
					continue
				}
				if _, err := c.waitUp(ctx, u, deadline, c.StartTimeout); err != nil {
					errs = append(errs, err.Error())
				}
			}
			if len(skipped) > 0 {
				r.Note = "disabled now, not started: " + strings.Join(skipped, ", ")
			}
			if len(errs) > 0 {
				advice := ""
				if len(units) > 1 {
					// One start-msg started them all: a service it started
					// that is not up may have crashed (host-facts: F-SVC-003).
					advice = "; " + CrashAdvice
				}
				return fmt.Errorf("%s did not bring everything up: %s%s", cmd, strings.Join(errs, "; "), advice)
			}
			return c.crashCheck(ctx, earlier, d.Before)
		},
	}
}

// crashCheck fails when a unit that was up is no longer.
func (c Config) crashCheck(ctx context.Context, units []unit, before []status) error {
	var crashed []string
	for i, u := range units {
		if i < len(before) && !before[i].up() {
			continue
		}
		st, err := c.observe(ctx, u)
		if err != nil {
			return err
		}
		if !st.up() {
			was := ""
			if i < len(before) && len(before[i].Running) > 0 {
				was = " (was " + before[i].Running[0].String() + ")"
			}
			crashed = append(crashed, u.Name+was)
		}
	}
	if len(crashed) > 0 {
		return fmt.Errorf("%s stopped answering during the start: %s", strings.Join(crashed, ", "), CrashAdvice)
	}
	return nil
}

// touchDownAction creates DIR/down so a reboot keeps the service down (seed
// 001), recording whether it existed.
func touchDownAction(env *wizard.Env, dir string) wizard.Action {
	file := DownFile(dir)
	return wizard.Action{
		Summary:    wizard.ShellQuote("touch", file),
		Idempotent: true,
		Do: func(ctx context.Context, r *wizard.Receipt) error {
			existed := exists(file)
			// The intent records whether it existed (post/start reads the
			// first such record of the run).
			if err := setData(env, r, opData{Op: "down", Arg: dir, Existed: &existed}); err != nil {
				return err
			}
			if existed {
				r.Note = "down file already there"
				return nil
			}
			f, err := os.OpenFile(file, os.O_CREATE|os.O_WRONLY, 0o644)
			if err != nil {
				return fmt.Errorf("down file: %w", err)
			}
			return errors.Join(f.Sync(), f.Close())
		},
	}
}

// removeDownAction removes DIR/down; op is recorded so Undo can create it again.
func removeDownAction(dir, op string) wizard.Action {
	file := DownFile(dir)
	return wizard.Action{
		Summary:    wizard.ShellQuote("rm", "-f", file),
		Idempotent: true,
		Do: func(ctx context.Context, r *wizard.Receipt) error {
			existed := exists(file)
			if err := r.SetData(opData{Op: op, Arg: dir, Existed: &existed}); err != nil {
				return err
			}
			if err := os.Remove(file); err != nil && !os.IsNotExist(err) {
				return fmt.Errorf("down file: %w", err)
			}
			return nil
		},
	}
}

// cmdAction runs a command whose effect this package cannot observe (a cluster
// switch); data says how to undo it.
func cmdAction(env *wizard.Env, cmd wizard.Command, d opData) wizard.Action {
	return wizard.Action{
		Summary:    cmd.String(),
		Idempotent: true,
		Do: func(ctx context.Context, r *wizard.Receipt) error {
			if d.Argv == nil {
				d.Argv = cmd.Argv()
			}
			if err := setData(env, r, d); err != nil {
				return err
			}
			return run(ctx, env, r, cmd)
		},
	}
}

// receiptsData decodes the receipts' data, newest first; receipts without data
// (none of this package's actions leaves one) are skipped.
func receiptsData(env *wizard.Env, receipts []wizard.Receipt) ([]opData, error) {
	var out []opData
	hs, err := loadState(env)
	if err != nil {
		return nil, err
	}
	for i := len(receipts) - 1; i >= 0; i-- {
		r := receipts[i]
		if len(r.Data) == 0 {
			// Resolved as done after a crash by a wizard whose journal kept
			// no intents (the journal's intent is the receipt's data now):
			// what it kept in its own file stands in for the receipt.
			if d, ok := hs.Pending[pendingKey(r.Step, r.Action)]; ok {
				out = append(out, d)
			}
			continue
		}
		var d opData
		if err := r.DataInto(&d); err != nil {
			return nil, fmt.Errorf("receipt %d (%s): %w", r.Action, r.Summary, err)
		}
		out = append(out, d)
	}
	return out, nil
}

// undoStops reverses stop actions, newest first: what a stop found running is
// started again (and waited for), a down file this run created is removed, a
// switch is restored to its recorded value, a cluster monitor is turned on.
func (c Config) undoStops(env *wizard.Env, receipts []wizard.Receipt) ([]wizard.Action, error) {
	ds, err := receiptsData(env, receipts)
	if err != nil {
		return nil, err
	}
	var acts []wizard.Action
	for _, d := range ds {
		switch d.Op {
		case "down":
			if d.Existed != nil && !*d.Existed {
				acts = append(acts, removeDownAction(d.Arg, "undown"))
			}
		case "config":
			acts = append(acts, c.restoreConfigAction(env, d.Arg, d.Prev))
			if len(d.Units) > 0 {
				// The switch stopped nothing by itself, but the services it
				// enables were stopped meanwhile and the other undos could not
				// start them while it was off.
				us, err := c.units(d.Units...)
				if err != nil {
					return nil, err
				}
				for _, u := range us {
					acts = append(acts, c.ensureUp(env, "msg-svc", u.Name, c.plain().StartMsg(u.Name), []unit{u}))
				}
			}
		case "monitor":
			if cmd, ok := c.monitorOn(); ok {
				acts = append(acts, cmdAction(env, cmd, opData{Op: "monitor-on"}))
			}
		case "record", "manual":
		default:
			if len(d.Units) == 0 {
				continue
			}
			cmd, ok := c.startCmd(d.Op, d.Arg)
			if !ok {
				return nil, fmt.Errorf("undo: unknown operation %q", d.Op)
			}
			us, err := c.units(d.Units...)
			if err != nil {
				return nil, err
			}
			acts = append(acts, c.ensureUp(env, d.Op, d.Arg, cmd, us))
		}
	}
	return acts, nil
}

// ensureUp is a start for Undo: when every unit already answers (a later undo
// or the cluster brought it back) it does nothing and says so.
func (c Config) ensureUp(env *wizard.Env, op, arg string, cmd wizard.Command, us []unit) wizard.Action {
	a := c.startAction(env, op, arg, cmd, us, nil)
	do := a.Do
	a.Do = func(ctx context.Context, r *wizard.Receipt) error {
		if c.allUp(ctx, us) {
			r.Note = "already running: " + strings.Join(unitNames(us), ", ")
			return r.SetData(opData{Op: op, Arg: arg})
		}
		return do(ctx, r)
	}
	return a
}

// ensureDown is a stop for Undo that does nothing when every unit is down.
func (c Config) ensureDown(env *wizard.Env, op, arg string, cmd wizard.Command, us []unit) wizard.Action {
	a := c.stopAction(env, op, arg, cmd, us)
	do := a.Do
	a.Do = func(ctx context.Context, r *wizard.Receipt) error {
		if c.allDown(ctx, us) {
			r.Note = "already stopped: " + strings.Join(unitNames(us), ", ")
			return r.SetData(opData{Op: op, Arg: arg})
		}
		return do(ctx, r)
	}
	return a
}

func (c Config) allUp(ctx context.Context, us []unit) bool {
	conf, err := ReadConfig(c.Host)
	if err != nil {
		return false
	}
	for _, u := range us {
		if isMessaging(u.Name) && !conf.Enabled(u.Name) {
			continue
		}
		if st, err := c.observe(ctx, u); err != nil || !st.up() {
			return false
		}
	}
	return true
}

func (c Config) allDown(ctx context.Context, us []unit) bool {
	for _, u := range us {
		if st, err := c.observe(ctx, u); err != nil || !st.down() {
			return false
		}
	}
	return true
}

// monitorOff and monitorOn are the cluster fault monitor switches: hareg -n/-y
// on Sun Cluster 2.2 (seed 004), scswitch -n -M/-e -M on Sun Cluster 3.
func (c Config) monitorOff() (wizard.Command, bool) { return c.driver().MonitorOff(c) }

func (c Config) monitorOn() (wizard.Command, bool) { return c.driver().MonitorOn(c) }

// restoreConfigAction sets a parameter back to prev, or deletes it when it was
// not set, recording the value it replaces.
func (c Config) restoreConfigAction(env *wizard.Env, name string, prev *string) wizard.Action {
	cmd := c.plain().DeleteConfig(name)
	if prev != nil {
		cmd = c.plain().SetConfig(name, *prev)
	}
	return c.configAction(env, name, cmd)
}

// configAction runs a configutil change, recording the parameter's value before.
func (c Config) configAction(env *wizard.Env, name string, cmd wizard.Command) wizard.Action {
	return wizard.Action{
		Summary:    cmd.String(),
		Idempotent: true,
		Do: func(ctx context.Context, r *wizard.Receipt) error {
			conf, err := ReadConfig(c.Host)
			if err != nil {
				return err
			}
			d := opData{Op: "config", Arg: name}
			if v, ok := conf.Value(name); ok {
				d.Prev = &v
			}
			if err := setData(env, r, d); err != nil {
				return err
			}
			return run(ctx, env, r, cmd)
		},
	}
}

// hasWholeStop says whether the regime stops the whole server with one command.
func (c Config) hasWholeStop() bool {
	_, ok := c.driver().StopMessaging(c)
	return ok
}
