package service

import (
	"context"
	"slices"
	"strings"

	"mswizard/steps/facts"
	"mswizard/wizard"
)

// start is post/start.
type start struct{ step }

// Start is post/start: the services up again after the upgrade. start-msg
// starts them in the documented order — watcher (6.x only), ens, store, imap,
// pop, http, sched, dispatcher, job_controller (seed 000 §4.4.2.1) — skipping
// each whose *.enable switch is off; then the Administration Server and the web
// server instances. A plain host runs the appendix's one `start-msg` and then
// proves each enabled service up (its process in the process table, its socket
// listening on the configured address); daemontools removes
// the down file this run created and runs `svc -u`; Sun Cluster 2.2 runs
// `start-msg ha` (seed 003 post-upgrade step 6); Sun Cluster 3 and Veritas bring
// the resource online. A service that answered and then stopped answering
// crashed: the step fails with the manual's advice (stop everything, start again).
func Start(c Config) wizard.Step {
	s := &start{step{c.withDefaults()}}
	return wizard.Phase{
		ID: IDStart, Title: "Start the services in the documented order",
		Check: s.Check, Plan: s.Plan, Undo: s.Undo,
		Establishes: []wizard.Fact{wizard.Not(facts.ServicesStopped), wizard.Not(facts.DispatcherStopped), wizard.Not(facts.DownFilesMade)},
		UndoText:    startUndo,
		// Undoing the start stops what it started, with the first component
		// it started that the appendix stops (the web servers).
		Backout: wizard.BackoutKey{Stage: wizard.BackoutStop, Rank: stopRank(WebServer)},
	}.Step()
}

// expected lists the units that must answer after the start, in start order:
// the enabled messaging services, the Administration Server, the web instances.
func (s *start) expected(ctx context.Context, env *wizard.Env) (msg, rest []unit, err error) {
	c := s.c
	conf, err := ReadConfig(c.Host)
	if err != nil {
		return nil, nil, err
	}
	conf = projectedConf(env, conf)
	var names []string
	for _, n := range c.MessagingServices(ctx) {
		if conf.Enabled(n) {
			names = append(names, n)
		}
	}
	msg, err = c.units(names...)
	if err != nil {
		return nil, nil, err
	}
	var others []string
	if exists(c.Host.StartAdmin()) {
		others = append(others, AdminUnit)
	}
	others = append(others, webUnits(c.Host)...)
	rest, err = c.units(others...)
	return msg, rest, err
}

func (s *start) Check(ctx context.Context, env *wizard.Env) (bool, string, error) {
	msg, rest, err := s.expected(ctx, env)
	if err != nil {
		return false, "", err
	}
	if env.Projected(facts.ServicesStopped) {
		return false, "the stop steps will have stopped the services by then", nil
	}
	done := true
	var why []string
	for _, u := range append(msg, rest...) {
		st, err := s.c.observe(ctx, u)
		if err != nil {
			return false, "", err
		}
		if !st.up() {
			done = false
		}
		why = append(why, st.describe())
	}
	return done, strings.Join(why, "; "), nil
}

func (s *start) Plan(ctx context.Context, env *wizard.Env) ([]wizard.Action, error) {
	c := s.c
	msg, rest, err := s.expected(ctx, env)
	if err != nil {
		return nil, err
	}
	state, err := loadState(env)
	if err != nil {
		return nil, err
	}
	up := map[string]bool{}
	for _, u := range append(msg, rest...) {
		st, err := c.observe(ctx, u)
		if err != nil {
			return nil, err
		}
		// A whole-run plan: the stop steps will have stopped what runs now.
		up[u.Name] = st.up() && !env.Projected(facts.ServicesStopped)
	}
	var acts []wizard.Action
	var earlier []unit
	switch {
	case !c.driver().PerUnit():
		// The appendix's restart is one start-msg (`start-msg ha` on Sun
		// Cluster 2.2, the resource online on Sun Cluster 3 and Veritas),
		// then proof that each enabled service came up (host-facts:
		// F-CMD-001, F-SVC-001).
		var down bool
		for _, u := range msg {
			down = down || !up[u.Name]
		}
		if down {
			op := "msg"
			if c.Regime == RegimeSC22 {
				op = "msg-ha"
			}
			acts = append(acts, c.startAction(env, op, "", c.messagingStart(), msg, nil))
		}
		earlier = msg
	default:
		for _, u := range msg {
			if u.supervised() {
				if downFileMade(env, state, u) {
					acts = append(acts, removeDownAction(u.SvcDir, "rmdown"))
				}
				if !up[u.Name] {
					d := c.daemontools()
					d.Timeout = c.StartTimeout
					acts = append(acts, c.startAction(env, "svc", u.SvcDir, d.Up(u.SvcDir), []unit{u}, earlier))
				}
			} else if !up[u.Name] {
				acts = append(acts, c.startAction(env, "msg-svc", u.Name, c.plain().StartMsg(u.Name), []unit{u}, earlier))
			}
			earlier = append(earlier, u)
		}
	}
	for _, u := range rest {
		if u.supervised() {
			if downFileMade(env, state, u) {
				acts = append(acts, removeDownAction(u.SvcDir, "rmdown"))
			}
		}
		if !up[u.Name] {
			op, arg := "admin", ""
			if u.Name != AdminUnit {
				op, arg = "web", u.Name
			}
			cmd, _ := c.startCmd(op, arg)
			if u.supervised() {
				op, arg = "svc", u.SvcDir
				cmd, _ = c.startCmd(op, arg)
			}
			acts = append(acts, c.startAction(env, op, arg, cmd, []unit{u}, earlier))
		}
		earlier = append(earlier, u)
	}
	if len(acts) > 0 {
		all := append(append([]unit{}, msg...), rest...)
		acts = append(acts, wizard.Action{
			Summary:    "verify every started service still answers",
			Idempotent: true,
			Do: func(ctx context.Context, r *wizard.Receipt) error {
				if err := r.SetData(opData{Op: "verify", Units: unitNames(all)}); err != nil {
					return err
				}
				return c.crashCheck(ctx, all, nil)
			},
		})
	}
	return acts, nil
}

// Undo stops what post/start started and puts back the down files it removed:
// the web servers, then the Messaging Server, then the Administration Server,
// the appendix's strict stop order (Appendix C, "To back out of the upgrade"),
// newest first within each.
func (s *start) Undo(ctx context.Context, env *wizard.Env, receipts []wizard.Receipt) ([]wizard.Action, error) {
	c := s.c
	ds, err := receiptsData(env, receipts)
	if err != nil {
		return nil, err
	}
	var acts []wizard.Action
	var ranks []int
	add := func(rank int, a wizard.Action) {
		acts = append(acts, a)
		ranks = append(ranks, rank)
	}
	for _, d := range ds {
		rank := componentRank(d.Op, d.Units)
		switch d.Op {
		case "rmdown":
			if d.Existed != nil && *d.Existed {
				add(rank, touchDownAction(env, d.Arg))
			}
		case "verify", "manual":
		default:
			if len(d.Units) == 0 {
				continue
			}
			us, err := c.units(d.Units...)
			if err != nil {
				return nil, err
			}
			if cmd, ok := c.stopCmd(d.Op, d.Arg); ok {
				add(rank, c.ensureDown(env, d.Op, d.Arg, cmd, us))
				continue
			}
			// Sun Cluster 2.2: no whole-server stop; one service at a time.
			for _, n := range stopOrder(d.Units) {
				u, err := c.units(n)
				if err != nil {
					return nil, err
				}
				add(rank, c.ensureDown(env, "msg-svc", n, c.plain().StopMsg(n), u))
			}
		}
	}
	// The Administration Server stops last, after the Directory Server of
	// the server root (appendix C backout step 1), which this undo did not
	// start but must not outlive the Administration Server's stop.
	if c.DirectoryStop != nil && slices.ContainsFunc(ranks, func(r int) bool { return r > stopRank(Directory) }) {
		das, err := c.DirectoryStop(ctx, env)
		if err != nil {
			return nil, err
		}
		for _, a := range das {
			add(stopRank(Directory), a)
		}
	}
	return byRank(acts, ranks), nil
}
