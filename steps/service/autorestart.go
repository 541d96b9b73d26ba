package service

import (
	"context"
	"fmt"
	"strings"

	"mswizard/steps/facts"
	"mswizard/wizard"
)

// The auto-restart switches (FORMATS.md §2.1): the watcher (default on) and its
// automatic restart of failed services (default off).
var autoRestartParams = []struct {
	name string
	def  bool
}{{"local.watcher.enable", true}, {"local.autorestart", false}}

// autoRestartOff is stop/auto-restart.
type autoRestartOff struct{ step }

// AutoRestartOff is stop/auto-restart: before any daemon stops, nothing may
// start it again — `configutil -o local.watcher.enable -v no` and `-o
// local.autorestart -v no`, and the cluster fault monitor off (`hareg -n iMS50`
// on Sun Cluster 2.2, seed 004; `scswitch -n -M -j RESOURCE` on Sun Cluster 3).
// The values found are journaled (undo restores them exactly, deleting a
// parameter that was not set) and kept in the run's state directory for
// post/auto-restart.
func AutoRestartOff(c Config) wizard.Step {
	s := &autoRestartOff{step{c.withDefaults()}}
	return wizard.Phase{
		ID: IDAutoRestartOff, Title: "Turn auto-restart and the cluster fault monitor off",
		Check: s.Check, Plan: s.Plan, Undo: s.Undo,
		Establishes: []wizard.Fact{facts.AutoRestartOff}, // the switches are off (and recorded)
		Backout:     s.backoutKey(),
	}.Step()
}

func (s *autoRestartOff) Check(ctx context.Context, env *wizard.Env) (bool, string, error) {
	conf, err := ReadConfig(s.c.Host)
	if err != nil {
		return false, "", err
	}
	st, err := loadState(env)
	if err != nil {
		return false, "", err
	}
	var why []string
	done := true
	params := autoRestartParams
	if !s.c.hasWatcher(ctx) {
		// host-facts: F-SVC-004: a 5.x host has no watcher and no
		// local.autorestart; nothing to turn off, nothing invented.
		params = nil
		why = append(why, "no watcher on this host (no local.watcher.*, local.autorestart, nor watcher process)")
	}
	for _, p := range params {
		on := conf.Bool(p.name, p.def)
		v, _ := conf.Value(p.name)
		why = append(why, fmt.Sprintf("%s=%q", p.name, v))
		if on {
			done = false
		}
		if _, ok := st.Config[p.name]; !ok && env.StateDir != "" {
			done = false
		}
	}
	if _, ok := s.c.monitorOff(); ok {
		off, how := s.c.monitorIsOff(ctx, env)
		why = append(why, how)
		done = done && off
	}
	return done, strings.Join(why, ", "), nil
}

func (s *autoRestartOff) Plan(ctx context.Context, env *wizard.Env) ([]wizard.Action, error) {
	c := s.c
	var acts []wizard.Action
	if cmd, ok := c.monitorOff(); ok {
		acts = append(acts, cmdAction(env, cmd, opData{Op: "monitor"}))
	}
	conf, err := ReadConfig(c.Host)
	if err != nil {
		return nil, err
	}
	st, err := loadState(env)
	if err != nil {
		return nil, err
	}
	params := autoRestartParams
	if !c.hasWatcher(ctx) {
		params = nil // host-facts: F-SVC-004
	}
	for _, p := range params {
		if conf.Bool(p.name, p.def) {
			acts = append(acts, c.switchOffAction(env, p.name))
		} else if _, ok := st.Config[p.name]; !ok && env.StateDir != "" {
			acts = append(acts, recordAction(env, c, p.name))
		}
	}
	return acts, nil
}

// switchOffAction is `configutil -o NAME -v no`, recording the value it replaces
// in the receipt and, the first time, in the run's state.
func (c Config) switchOffAction(env *wizard.Env, name string) wizard.Action {
	a := c.configAction(env, name, c.plain().SetConfig(name, "no"))
	do := a.Do
	a.Do = func(ctx context.Context, r *wizard.Receipt) error {
		// configAction's intent records the value it replaces.
		var running []string
		if name == "local.watcher.enable" {
			us, err := c.units("watcher")
			if err != nil {
				return err
			}
			if st, err := c.observe(ctx, us[0]); err == nil && st.up() {
				running = append(running, "watcher")
			}
		}
		if err := do(ctx, r); err != nil {
			return err
		}
		// Undo starts the watcher again once its switch is back.
		var d opData
		if err := r.DataInto(&d); err != nil {
			return err
		}
		d.Units = running
		return r.SetData(d)
	}
	return a
}

// recordAction keeps a switch's value for post/auto-restart when it was already
// off and nothing needs changing: its intent is the record.
func recordAction(env *wizard.Env, c Config, name string) wizard.Action {
	return wizard.Action{
		Summary:    "record " + name + " for the post-upgrade restore",
		Idempotent: true,
		Do: func(ctx context.Context, r *wizard.Receipt) error {
			conf, err := ReadConfig(c.Host)
			if err != nil {
				return err
			}
			d := opData{Op: "record", Arg: name}
			if v, ok := conf.Value(name); ok {
				d.Prev = &v
			}
			return setData(env, r, d)
		},
	}
}

func (s *autoRestartOff) Undo(ctx context.Context, env *wizard.Env, receipts []wizard.Receipt) ([]wizard.Action, error) {
	return s.c.undoStops(env, receipts)
}

// monitorIsOff asks the Sun Cluster 2.2 registry (`hareg` without options lists
// each data service and whether it is on); other clusters cannot be asked, and
// their switch is idempotent, so it reports false.
func (c Config) monitorIsOff(ctx context.Context, env *wizard.Env) (bool, string) {
	if c.Regime != RegimeSC22 {
		return false, "the cluster fault monitor's state cannot be read here"
	}
	state, err := c.haregState(ctx, env)
	if err != nil {
		return false, err.Error()
	}
	return state != "on", fmt.Sprintf("data service %s is %s", c.Cluster.HaregService, state)
}

// haregState is "on", "off" or "unregistered" for the data service, from
// bare `hareg`: one line per data service, its name and its state (SC2.2
// API, "Registering a Data Service": a registered service is "on" or "off").
// The output's layout is an assumption (host-facts: F-HA-004): a line that is
// not NAME STATE with a state of on, off or unregistered makes the state
// unknown, an error — never "unregistered" (the preparation would then be
// skipped) nor "off" (the fault monitor would be left on).
func (c Config) haregState(ctx context.Context, env *wizard.Env) (string, error) {
	cmd := wizard.Command{Path: c.sc22().Off().Path, Timeout: c.StopTimeout}
	var out strings.Builder
	cmd.Output = &out
	if _, err := env.Exec.Run(ctx, cmd); err != nil {
		return "", fmt.Errorf("hareg: %w", err)
	}
	return parseHaregState(out.String(), c.Cluster.HaregService)
}

func parseHaregState(out, service string) (string, error) {
	state := "unregistered"
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		st := ""
		if len(f) == 2 {
			st = strings.ToLower(f[1])
		}
		if st != "on" && st != "off" && st != "unregistered" {
			return "", fmt.Errorf("hareg: cannot read the data services' state from %q (docs/host-facts.md F-HA-004)", line)
		}
		if f[0] == service {
			state = st
		}
	}
	return state, nil
}

// autoRestartOn is post/auto-restart.
type autoRestartOn struct{ step }

// AutoRestartOn is post/auto-restart: the switches back to the values
// stop/auto-restart found (from the run's state; without it, the watcher on as
// by default), the watcher started if it is now enabled, and the cluster fault
// monitor on (`hareg -y iMS50`, seed 004; `scswitch -e -M -j RESOURCE`).
func AutoRestartOn(c Config) wizard.Step {
	s := &autoRestartOn{step{c.withDefaults()}}
	return wizard.Phase{
		ID: IDAutoRestartOn, Title: "Turn auto-restart and the cluster fault monitor back on",
		Check: s.Check, Plan: s.Plan, Undo: s.Undo,
		Establishes: []wizard.Fact{wizard.Not(facts.AutoRestartOff)}, // the switches are back
		Backout:     s.backoutKey(),
	}.Step()
}

// targets are the values to restore; a nil value means delete the parameter.
func (s *autoRestartOn) targets(ctx context.Context, env *wizard.Env) (map[string]*string, error) {
	st, err := loadState(env)
	if err != nil {
		return nil, err
	}
	if len(st.Config) > 0 {
		return st.Config, nil
	}
	if !s.c.hasWatcher(ctx) {
		return nil, nil // host-facts: F-SVC-004: stop/auto-restart switched nothing off
	}
	if env.Projected(facts.AutoRestartOff) {
		// A whole-run plan: stop/auto-restart will record the values now.
		return s.c.switchesNow()
	}
	return map[string]*string{"local.watcher.enable": ptr("yes")}, nil
}

func sameValue(conf LocalConf, name string, want *string) bool {
	v, ok := conf.Value(name)
	if want == nil {
		return !ok
	}
	return ok && v == *want
}

func (s *autoRestartOn) Check(ctx context.Context, env *wizard.Env) (bool, string, error) {
	c := s.c
	targets, err := s.targets(ctx, env)
	if err != nil {
		return false, "", err
	}
	watcher := c.hasWatcher(ctx)
	conf, err := ReadConfig(c.Host)
	if err != nil {
		return false, "", err
	}
	conf = projectedConf(env, conf)
	done := true
	var why []string
	for _, name := range sortedKeys(targets) {
		v, ok := conf.Value(name)
		if !ok {
			v = "(unset)"
		}
		why = append(why, name+"="+v)
		if !sameValue(conf, name, targets[name]) {
			done = false
		}
	}
	if watcher && conf.Enabled("watcher") {
		us, err := c.units("watcher")
		if err != nil {
			return false, "", err
		}
		if st, err := c.observe(ctx, us[0]); err != nil || !st.up() || env.Projected(facts.AutoRestartOff) {
			done = false
			why = append(why, "the watcher is not running")
		}
	}
	if _, ok := c.monitorOn(); ok {
		if c.Regime != RegimeSC22 {
			done = false
			why = append(why, "the cluster fault monitor's state cannot be read here")
		} else {
			state, err := c.haregState(ctx, env)
			done = done && err == nil && state == "on"
			why = append(why, fmt.Sprintf("data service %s is %s", c.Cluster.HaregService, state))
		}
	}
	return done, strings.Join(why, ", "), nil
}

func (s *autoRestartOn) Plan(ctx context.Context, env *wizard.Env) ([]wizard.Action, error) {
	c := s.c
	targets, err := s.targets(ctx, env)
	if err != nil {
		return nil, err
	}
	watcher := c.hasWatcher(ctx)
	conf, err := ReadConfig(c.Host)
	if err != nil {
		return nil, err
	}
	conf = projectedConf(env, conf)
	var acts []wizard.Action
	after := LocalConf{}
	for k, v := range conf {
		after[k] = v
	}
	for _, name := range sortedKeys(targets) {
		want := targets[name]
		if want == nil {
			delete(after, name)
		} else {
			after[name] = *want
		}
		if !sameValue(conf, name, want) {
			acts = append(acts, c.restoreConfigAction(env, name, want))
		}
	}
	if watcher && after.Enabled("watcher") {
		us, err := c.units("watcher")
		if err != nil {
			return nil, err
		}
		st, err := c.observe(ctx, us[0])
		if err != nil {
			return nil, err
		}
		// A whole-run plan: stop-msg stopped the watcher, and post/start
		// leaves it while its switch is off.
		if !st.up() || env.Projected(facts.AutoRestartOff) {
			acts = append(acts, c.startAction(env, "msg-svc", "watcher", c.plain().StartMsg("watcher"), us, nil))
		}
	}
	if cmd, ok := c.monitorOn(); ok {
		acts = append(acts, cmdAction(env, cmd, opData{Op: "monitor-on"}))
	}
	return acts, nil
}

// Undo puts back what post/auto-restart changed: the switches' values before
// it, the watcher stopped, the monitor off.
func (s *autoRestartOn) Undo(ctx context.Context, env *wizard.Env, receipts []wizard.Receipt) ([]wizard.Action, error) {
	c := s.c
	ds, err := receiptsData(env, receipts)
	if err != nil {
		return nil, err
	}
	var acts []wizard.Action
	for _, d := range ds {
		switch d.Op {
		case "config":
			acts = append(acts, c.restoreConfigAction(env, d.Arg, d.Prev))
		case "msg-svc":
			us, err := c.units(d.Units...)
			if err != nil {
				return nil, err
			}
			acts = append(acts, c.ensureDown(env, d.Op, d.Arg, c.plain().StopMsg(d.Arg), us))
		case "monitor-on":
			if cmd, ok := c.monitorOff(); ok {
				acts = append(acts, cmdAction(env, cmd, opData{Op: "monitor"}))
			}
		}
	}
	return acts, nil
}
