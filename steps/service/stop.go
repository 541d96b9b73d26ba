package service

import (
	"context"
	"fmt"
	"strings"

	"mswizard/steps/facts"
	"mswizard/steps/host"
	"mswizard/wizard"
)

// Step IDs, stable: journals, --until, --skip and --only name steps by them.
const (
	IDHAProbe        = "preflight/ha-probe"
	IDAutoRestartOff = "stop/auto-restart"
	IDStopDispatcher = "stop/dispatcher"
	IDStopWeb        = "stop/web"
	IDStopMessaging  = "stop/messaging"
	IDStopAdmin      = "stop/admin"
	IDDirectoryUp    = "check/directory-up"
	IDHAPrepare      = "ha/prepare"
	IDHARestore      = "post/ha-restore"
	IDStart          = "post/start"
	IDAutoRestartOn  = "post/auto-restart"
)

// PreUpgrade is the service part of the runbook before the upgrade, in order:
// the HA probe; auto-restart and the cluster fault monitor off (seed 004: the
// monitor restarts a stopped daemon otherwise); the dispatcher first, so no more
// mail is accepted (seed 003 step 1); then web, messaging and admin — the
// appendix's strict backout stop order (delegated admin, web, messaging,
// directory, admin), so that the journal read backwards starts them in its
// strict start order (admin, messaging, web); the Directory Server checked up
// (seed 003: it must keep running); the HA preparation.
//
// Delegated Administrator and a Web Server in its own root stop right after
// the dispatcher, first of the others, as the appendix's backout orders them
// (components.go).
func PreUpgrade(c Config) []wizard.Step {
	return []wizard.Step{
		HAProbe(c), AutoRestartOff(c), StopDispatcher(c), StopDelegatedAdmin(c), StopWebServerRoot(c),
		StopWeb(c), StopMessaging(c), StopAdmin(c),
		DirectoryUp(c), HAPrepare(c), DirectoryUpAfterHA(c),
	}
}

// PostUpgrade is the service part after the upgrade: the HA agent restored,
// the services started in the documented order, auto-restart and the cluster
// monitor back on (seed 004: hareg -y after the administrative work).
// The Web Server in its own root and Delegated Administrator start last,
// after the Messaging Server and its auto-restart (components.go).
func PostUpgrade(c Config) []wizard.Step {
	return []wizard.Step{HARestore(c), Start(c), AutoRestartOn(c), StartWebServerRoot(c), StartDelegatedAdmin(c)}
}

// unitsStep stops a fixed set of units, each with its own script (or, under
// daemontools, svc -d and a down file when supervise runs it).
type unitsStep struct {
	step
	op    string
	names func(context.Context, Config) []string
}

// stopUnits declares a step that stops the units names lists: done when they
// are proved down (facts: the services stopped); its undo starts them again,
// in the appendix's start order of the component op names (the dispatcher is
// part of the Messaging Server). more are facts of its own units a later
// step's plan reads.
func stopUnits(c Config, id, title, op string, names func(context.Context, Config) []string, more ...wizard.Fact) wizard.Step {
	s := &unitsStep{step{c.withDefaults()}, op, names}
	return wizard.Phase{
		ID: id, Title: title,
		Check: s.Check, Plan: s.Plan, Undo: s.Undo,
		Establishes: s.c.stopFacts(more...), UndoText: stopUndoText(op),
		Backout: wizard.BackoutKey{Stage: wizard.BackoutStart, Rank: startRank(component(op, nil))},
	}.Step()
}

// StopDispatcher is stop/dispatcher: `imsimta stop dispatcher` (seed 003,
// pre-upgrade step 1; host-facts: F-CMD-005), done when the dispatcher's process is gone and the SMTP
// port refuses connections.
func StopDispatcher(c Config) wizard.Step {
	return stopUnits(c, IDStopDispatcher, "Stop the MTA dispatcher: no more mail is accepted",
		"dispatcher", func(context.Context, Config) []string { return []string{dispatcherUnit} }, facts.DispatcherStopped)
}

// StopAdmin is stop/admin: SERVER-ROOT/stop-admin (seed 003 step 2).
func StopAdmin(c Config) wizard.Step {
	return stopUnits(c, IDStopAdmin, "Stop the Administration Server",
		"admin", func(ctx context.Context, c Config) []string {
			if !c.hasAdmin(ctx) {
				return nil
			}
			return []string{AdminUnit}
		})
}

// hasAdmin says whether the host has an Administration Server to stop: its
// stop-admin or adm.conf is there (host-facts: F-LAYOUT-001), or, without
// either, a process of it lives. A process table that cannot be read counts
// as one: unknown is never down, and the stop's proof then says what could
// not be read.
func (c Config) hasAdmin(ctx context.Context) bool {
	if exists(c.Host.StopAdmin()) || exists(c.Host.AdmConf()) {
		return true
	}
	procs, err := c.Evidence.Procs(ctx)
	if err != nil {
		return true
	}
	for _, p := range procs {
		if host.Owns(c.Host, AdminUnit, p) != host.No {
			return true
		}
	}
	return false
}

// StopWeb is stop/web: each web server instance's https-*/stop (seed 003 step 2:
// https-admserv and https-HOST).
func StopWeb(c Config) wizard.Step {
	return stopUnits(c, IDStopWeb, "Stop the web server instances",
		"web", func(_ context.Context, c Config) []string { return webUnits(c.Host) })
}

func (s *unitsStep) Check(ctx context.Context, env *wizard.Env) (bool, string, error) {
	us, err := s.c.units(s.names(ctx, s.c)...)
	if err != nil {
		return false, "", err
	}
	return s.c.stoppedCheck(ctx, us)
}

// stoppedCheck: every unit down, and under daemontools its down file in place.
func (c Config) stoppedCheck(ctx context.Context, us []unit) (bool, string, error) {
	if len(us) == 0 {
		return true, "nothing installed to stop", nil
	}
	done := true
	var why []string
	for _, u := range us {
		st, err := c.observe(ctx, u)
		if err != nil {
			return false, "", err
		}
		if !st.down() {
			done = false
		}
		d := st.describe()
		if u.supervised() && !exists(DownFile(u.SvcDir)) {
			done = false
			d += ", no down file in " + u.SvcDir
		}
		why = append(why, d)
	}
	// The proof of a skipped stop is this sentence, journaled with the skip.
	return done, strings.Join(why, "; ") + " (read from " + c.Evidence.Source + ")", nil
}

func (s *unitsStep) Plan(ctx context.Context, env *wizard.Env) ([]wizard.Action, error) {
	us, err := s.c.units(s.names(ctx, s.c)...)
	if err != nil {
		return nil, err
	}
	var acts []wizard.Action
	for _, u := range us {
		a, err := s.c.stopUnit(ctx, env, s.op, u)
		if err != nil {
			return nil, err
		}
		acts = append(acts, a...)
	}
	return acts, nil
}

// stopUnit stops one unit: under supervise with a down file and svc -d, else
// with its own stop command.
func (c Config) stopUnit(ctx context.Context, env *wizard.Env, op string, u unit) ([]wizard.Action, error) {
	st, err := c.planObserve(ctx, env, u) // a whole-run plan: as earlier steps leave it
	if err != nil {
		return nil, err
	}
	var acts []wizard.Action
	if u.supervised() {
		if !hasDownFile(env, u) {
			acts = append(acts, touchDownAction(env, u.SvcDir))
		}
		if st.down() {
			return append(acts, c.proofAction(env, "svc", u.SvcDir, u)), nil
		}
		return append(acts, c.stopAction(env, "svc", u.SvcDir, c.daemontools().Down(u.SvcDir), []unit{u})), nil
	}
	if st.down() {
		return []wizard.Action{c.proofAction(env, op, u.Name, u)}, nil
	}
	cmd, ok := c.stopCmd(op, u.Name)
	if !ok {
		return nil, fmt.Errorf("no stop command for %s", u.Name)
	}
	if u.Name == AdminUnit && !exists(c.Host.StopAdmin()) {
		// hasAdmin found it in the process table without its stop-admin.
		return nil, fmt.Errorf("%s runs and %s is missing (host-facts F-LAYOUT-001): nothing was stopped by this step; stop the Administration Server by hand, then rerun — the step proves it stopped", st.describe(), c.Host.StopAdmin())
	}
	return []wizard.Action{c.stopAction(env, op, u.Name, cmd, []unit{u})}, nil
}

func (s *unitsStep) Undo(ctx context.Context, env *wizard.Env, receipts []wizard.Receipt) ([]wizard.Action, error) {
	return s.c.undoStops(env, receipts)
}

// stopMessaging is stop/messaging.
type stopMessaging struct{ step }

// StopMessaging is stop/messaging: every messaging service stopped by the
// regime's own means — stop-msg on a plain host; svc -d and a down file for each
// supervised service under daemontools (`stop-msg SERVICE` for one supervise
// does not run); `scswitch -n -j RESOURCE` on Sun Cluster 3; `hares -offline
// RESOURCE -sys SYSTEM` on Veritas; `stop-msg SERVICE` one by one on Sun Cluster
// 2.2. A whole-server stop-msg is never used under HA: the product refuses it
// (seed 000 §4.4.1).
func StopMessaging(c Config) wizard.Step {
	s := &stopMessaging{step{c.withDefaults()}}
	return wizard.Phase{
		ID: IDStopMessaging, Title: "Stop the messaging services",
		Check: s.Check, Plan: s.Plan, Undo: s.Undo,
		Establishes: s.c.stopFacts(), UndoText: stopUndoText("msg"),
		// Undoing the stop starts the Messaging Server after the
		// Administration Server and before the web servers.
		Backout: wizard.BackoutKey{Stage: wizard.BackoutStart, Rank: startRank(Messaging)},
	}.Step()
}

func (s *stopMessaging) Check(ctx context.Context, env *wizard.Env) (bool, string, error) {
	us, err := s.c.units(s.c.MessagingServices(ctx)...)
	if err != nil {
		return false, "", err
	}
	return s.c.stoppedCheck(ctx, us)
}

func (s *stopMessaging) Plan(ctx context.Context, env *wizard.Env) ([]wizard.Action, error) {
	c := s.c
	us, err := c.units(stopOrder(c.MessagingServices(ctx))...)
	if err != nil {
		return nil, err
	}
	if c.driver().PerUnit() || !c.hasWholeStop() {
		// One service at a time (daemontools' svc -d, Sun Cluster 2.2's
		// stop-msg SERVICE): each already down is proved so, in the journal,
		// in its place in the stop order.
		var acts []wizard.Action
		for _, u := range us {
			a, err := c.stopUnit(ctx, env, "msg-svc", u)
			if err != nil {
				return nil, err
			}
			acts = append(acts, a...)
		}
		return acts, nil
	}
	running := false
	for _, u := range us {
		st, err := c.planObserve(ctx, env, u) // a whole-run plan: as earlier steps leave it
		if err != nil {
			return nil, err
		}
		running = running || !st.down()
	}
	if !running {
		return nil, nil
	}
	cmd, _ := c.messagingStop()
	return []wizard.Action{c.stopAction(env, "msg", "", cmd, us)}, nil
}

func (s *stopMessaging) Undo(ctx context.Context, env *wizard.Env, receipts []wizard.Receipt) ([]wizard.Action, error) {
	return s.c.undoStops(env, receipts)
}
