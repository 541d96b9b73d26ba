package service

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"mswizard/steps/facts"
	"mswizard/wizard"
)

// What the service steps leave true, for a whole-run plan (steps/facts), and
// where their undos sit in the appendix's backout procedure (iPlanet Messaging
// Server 5.2 Installation Guide, Appendix C, "To back out of the upgrade"):
// stop Delegated Administrator, the Web Server, the Messaging Server, the
// Directory Server, the Administration Server, strictly in this order; start
// them strictly in the opposite one.

// component is what an operation acted on.
func component(op string, units []string) Component {
	switch op {
	case "admin":
		return Administration
	case "web":
		return WebServer
	}
	for _, u := range units {
		switch {
		case u == AdminUnit:
			return Administration
		case strings.HasPrefix(u, "https-"):
			return WebServer
		}
	}
	return Messaging
}

// componentRank is the stop rank of what an operation acted on.
func componentRank(op string, units []string) int { return stopRank(component(op, units)) }

// byRank orders actions by rank, keeping the order of equal ranks.
func byRank(acts []wizard.Action, ranks []int) []wizard.Action {
	idx := make([]int, len(acts))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return ranks[idx[a]] < ranks[idx[b]] })
	out := make([]wizard.Action, len(acts))
	for n, i := range idx {
		out[n] = acts[i]
	}
	return out
}

// projectedConf is the configuration as a whole-run plan sees it: with the
// auto-restart switches that are on now switched off, once stop/auto-restart
// is projected.
func projectedConf(env *wizard.Env, conf LocalConf) LocalConf {
	if !env.Projected(facts.AutoRestartOff) {
		return conf
	}
	out := LocalConf{}
	for k, v := range conf {
		out[k] = v
	}
	for _, p := range autoRestartParams {
		if conf.Bool(p.name, p.def) { // what stop/auto-restart switches off
			out[p.name] = "no"
		}
	}
	return out
}

// switchesNow are the auto-restart switches' values now, as stop/auto-restart
// records them (nil: unset).
func (c Config) switchesNow() (map[string]*string, error) {
	conf, err := ReadConfig(c.Host)
	if err != nil {
		return nil, err
	}
	out := map[string]*string{}
	for _, p := range autoRestartParams {
		if v, ok := conf.Value(p.name); ok {
			out[p.name] = &v
		} else {
			out[p.name] = nil
		}
	}
	return out, nil
}

// projectedDown: in a whole-run plan, an earlier step will have stopped the
// unit (stop/dispatcher the dispatcher, before stop/messaging), with its down
// file in place when supervise runs it.
func projectedDown(env *wizard.Env, u unit) bool {
	return u.Name == dispatcherUnit && env.Projected(facts.DispatcherStopped)
}

// dispatcherUnit is the MTA dispatcher's unit name.
const dispatcherUnit = "dispatcher"

// planObserve is observe as a step's Check or Plan sees the unit: in a
// whole-run plan a unit an earlier step will have stopped is down, as the run
// will find it; otherwise the host as it is.
func (c Config) planObserve(ctx context.Context, env *wizard.Env, u unit) (status, error) {
	if projectedDown(env, u) {
		return status{Unit: u.Name, Source: "the plan: stopped by an earlier step"}, nil
	}
	return c.observe(ctx, u)
}

// hasDownFile: the unit's down file is there, or in a whole-run plan an
// earlier step will have made it.
func hasDownFile(env *wizard.Env, u unit) bool {
	return exists(DownFile(u.SvcDir)) || projectedDown(env, u)
}

// stopFacts are what a stop step leaves true: the services stopped, and under
// daemontools the down files made (post/start removes those it made).
func (c Config) stopFacts(more ...wizard.Fact) []wizard.Fact {
	fs := append([]wizard.Fact{facts.ServicesStopped}, more...)
	if c.driver().PerUnit() {
		fs = append(fs, facts.DownFilesMade)
	}
	return fs
}

// downFileMade: post/start removes a supervised unit's down file when this
// run made it — the stop journaled that none was there, or, in a whole-run
// plan, the stops will make it because none is there now.
func downFileMade(env *wizard.Env, state hostState, u unit) bool {
	if existed, ok := state.DownExisted[u.SvcDir]; ok {
		return !existed && exists(DownFile(u.SvcDir))
	}
	return env.Projected(facts.DownFilesMade) && !exists(DownFile(u.SvcDir))
}

// What backout does for each service step, in words, for the plan's "if you
// stop after this step" lists (wizard.Phase.UndoText); the order is the
// appendix's (Appendix C, "To back out of the upgrade").

// stopUndoText: a stop is undone by starting what it stopped again, where it
// ran; the dispatcher is part of the Messaging Server.
func stopUndoText(op string) string {
	comp := component(op, nil)
	what := "the " + comp.Name()
	if op == "dispatcher" {
		what = "the MTA dispatcher (imsimta start dispatcher)"
	}
	return fmt.Sprintf("start %s again where it ran, in the appendix's start order (place %d of %d)", what, startRank(comp), len(appendixStopOrder))
}

const (
	autoRestartOffUndo = "put back the auto-restart switches it recorded and start the watcher if it ran; the cluster's fault monitor on again"
	autoRestartOnUndo  = "put back the switches' values before it, stop the watcher it started, the cluster's fault monitor off"
	startUndo          = "stop what it started in the appendix's stop order (web servers, Messaging Server, Administration Server), and put back the down files it removed"
)

// prepareUndoText and restoreUndoText: ha/prepare and post/ha-restore are each
// other's reverse (reverseHA); plain, daemontools and Sun Cluster 3 hosts have
// nothing of theirs to undo.
func (c Config) prepareUndoText() string {
	switch c.Regime {
	case RegimeSC22:
		return "register the data service " + c.Cluster.HaregService + " again for " + c.Cluster.LogicalHost + " (hareg -r), leaving the start to the backout's order"
	case RegimeVeritas:
		return "link the mail resource " + c.Cluster.Resource + " to the logical IP and the shared mount again and enable it, leaving the start to the backout's order"
	}
	return "nothing: no cluster preparation"
}

func (c Config) restoreUndoText() string {
	switch c.Regime {
	case RegimeSC22:
		return "unregister the data service " + c.Cluster.HaregService + " again (hareg -n, hareg -u), as ha/prepare left it"
	case RegimeVeritas:
		return "unlink the mail resource " + c.Cluster.Resource + " and disable it again, as ha/prepare left it"
	}
	return "nothing: no cluster control to take back"
}
