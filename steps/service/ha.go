package service

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"mswizard/steps/facts"
	"mswizard/wizard"
)

// Finding IDs of this package's preflight checks.
const (
	FindHAUnmentioned = "PRE-HA-001" // HA configuration the answers do not mention
	FindHAToolMissing = "PRE-HA-002" // the answers name a cluster whose command is missing
	FindHAConfig      = "PRE-HA-003" // the answers lack a cluster object the regime needs
	FindHANotMaster   = "PRE-HA-004" // Sun Cluster 2.2: this node does not master the logical host
	FindHAUnverified  = "PRE-HA-005" // Sun Cluster 2.2: mastery could not be checked
)

// haProbe is preflight/ha-probe.
type haProbe struct{ step }

// HAProbe is preflight/ha-probe, a read-only preflight (wizard.Phase.Preflight): it looks for a
// cluster the answers do not mention — the cluster commands (hareg, scswitch,
// scrgadm, hares, hagrp) in their standard directories or the world's bin, the
// cluster's own configuration (/etc/opt/SUNWcluster/conf, /etc/cluster/ccr,
// /etc/VRTSvcs/conf/config/main.cf, the world's cluster/regime), an `ha` marker
// next to the instance, `local.ha.*` parameters — and raises an inhibitor: under
// HA the product refuses a plain stop-msg (seed 000 §4.4.1) and the upgrade has
// its own sections (seed 003). It also checks that the regime's own command is
// there and its cluster objects are named.
func HAProbe(c Config) wizard.Step {
	s := &haProbe{step{c.withDefaults()}}
	return wizard.Phase{
		ID: IDHAProbe, Title: "Look for High Availability configuration",
		Check: func(context.Context, *wizard.Env) (bool, string, error) {
			return true, "a read-only preflight: its findings are reported before the run", nil
		},
		Preflight: s.findings, // read-only: no plan, nothing to undo
	}.Step()
}

// haEvidence is one sign of a cluster and the regime it points to.
type haEvidence struct {
	what   string
	regime Regime
}

func under(root, p string) string {
	if root == "" || root == "/" {
		return p
	}
	return filepath.Join(root, p)
}

// evidence lists the signs of a cluster on the host.
func (c Config) evidence(root string) []haEvidence {
	var out []haEvidence
	add := func(p string, r Regime) {
		if exists(p) {
			out = append(out, haEvidence{p, r})
		}
	}
	for _, e := range []struct {
		p string
		r Regime
	}{
		{"/opt/SUNWcluster/bin/hareg", RegimeSC22},
		{"/etc/opt/SUNWcluster/conf", RegimeSC22},
		{"/usr/cluster/bin/scswitch", RegimeSC3},
		{"/usr/cluster/bin/scrgadm", RegimeSC3},
		{"/etc/cluster/ccr", RegimeSC3},
		{"/opt/VRTSvcs/bin/hares", RegimeVeritas},
		{"/etc/VRTSvcs/conf/config/main.cf", RegimeVeritas},
	} {
		add(under(root, e.p), e.r)
	}
	w := c.Host
	// A cluster command directory the answers name (ClusterBin) is evidence too.
	if bin := c.Cluster.Bin; bin != "" {
		for tool, r := range map[string]Regime{"hareg": RegimeSC22, "scswitch": RegimeSC3, "scrgadm": RegimeSC3, "hares": RegimeVeritas, "hagrp": RegimeVeritas} {
			add(filepath.Join(bin, tool), r)
		}
	}
	add(filepath.Join(w.MsgDir(), "ha"), "")
	add(filepath.Join(w.ConfigDir(), "ha"), "")
	if conf, err := ReadConfig(w); err == nil {
		for _, k := range sortedKeys(conf) {
			if strings.HasPrefix(k, "local.ha.") || strings.HasPrefix(k, "local.ha_") {
				out = append(out, haEvidence{k + " in the configuration", ""})
			}
		}
	}
	return out
}

func (s *haProbe) findings(ctx context.Context, env *wizard.Env) ([]wizard.Finding, error) {
	c := s.c
	var fs []wizard.Finding
	ev := c.evidence(env.Root)
	if !c.Regime.HA() && len(ev) > 0 {
		var what []string
		for _, e := range ev {
			what = append(what, e.what)
		}
		fs = append(fs, wizard.Finding{
			ID:       FindHAUnmentioned,
			Severity: wizard.Inhibitor,
			Message:  fmt.Sprintf("High Availability configuration found that the answers do not mention (regime %s): %s", c.Regime, strings.Join(what, ", ")),
			Remediation: "name the regime (sc2.2, sc3 or veritas) and its cluster objects in the answers: under HA stop-msg is refused " +
				"and the upgrade follows the appendix's HA section; waive this finding only if the cluster no longer controls this server",
		})
	}
	// What the regime needs is what `answers validate` checks (answers.Regimes).
	if err := c.Validate(); err != nil {
		fs = append(fs, wizard.Finding{ID: FindHAConfig, Severity: wizard.Inhibitor, Message: err.Error(),
			Remediation: "name what the regime needs in the answers (mswizard answers validate lists it)"})
	}
	if c.Regime.HA() {
		for _, t := range c.driver().Tools() {
			p := filepath.Join(c.Cluster.Bin, t)
			if !exists(p) {
				fs = append(fs, wizard.Finding{ID: FindHAToolMissing, Severity: wizard.Inhibitor,
					Message:     fmt.Sprintf("the answers say %s but %s is missing", c.Regime, p),
					Remediation: "run the wizard on a cluster node, or set the directory of the cluster commands in the answers"})
			}
		}
	}
	return fs, nil
}

// haPrepare is ha/prepare.
type haPrepare struct{ step }

// HAPrepare is ha/prepare, the appendix's HA preparation before the upgrade
// (seed 003):
//   - Sun Cluster 2.2: on the physical host that masters the logical host (its
//     preflight asks `haget -f mastered`), `hareg -n iMS50` then `hareg -u iMS50`;
//     undo registers the data service again for the logical host (`hareg -r
//     iMS50 -h LOGICALHOST`, off: the
//     backout's own start order turns it on at the end);
//   - Veritas: the service group offline, the mail resource disabled (`hares
//     -modify RES Enabled 0`), its dependencies on the logical IP and the shared
//     mount unlinked, the group back online so the IP and the disk serve the
//     upgrade; undo links and enables them again (the dependency tree of the
//     installation), leaving the start to the backout's order. haconf -makerw /
//     -dump -makero surround the changes when haconf is installed;
//   - Sun Cluster 3: nothing before the upgrade (the SUNWscims agent package
//     follows it, post/ha-restore); plain and daemontools hosts: nothing.
func HAPrepare(c Config) wizard.Step {
	s := &haPrepare{step{c.withDefaults()}}
	return wizard.Phase{
		ID: IDHAPrepare, Title: "Prepare the cluster for the upgrade",
		Check: s.Check, Plan: s.Plan, Undo: s.Undo, Preflight: s.findings,
		Establishes: s.c.prepareFacts(), UndoText: s.c.prepareUndoText(),
		// Its undo gives the cluster back its control of the Messaging Server
		// (registered, linked, enabled) and leaves the start to the backout:
		// so it takes the Messaging Server's place in the start order, ahead
		// of stop/messaging's start there (newest first within a place) —
		// `hares -online` of a resource still disabled fails.
		Backout: wizard.BackoutKey{Stage: wizard.BackoutStart, Rank: startRank(Messaging)},
	}.Step()
}

// prepareFacts: on Sun Cluster 2.2 and Veritas ha/prepare releases the
// Messaging Server from the cluster (post/ha-restore gives it back); Sun
// Cluster 3 and the hosts without a cluster have nothing to release.
func (c Config) prepareFacts() []wizard.Fact {
	if c.Regime == RegimeSC22 || c.Regime == RegimeVeritas {
		return []wizard.Fact{facts.ClusterReleased}
	}
	return nil
}

func (s *haPrepare) findings(ctx context.Context, env *wizard.Env) ([]wizard.Finding, error) {
	c := s.c
	if c.Regime != RegimeSC22 {
		return nil, nil
	}
	cmd := c.sc22().Mastered()
	if !exists(cmd.Path) {
		return []wizard.Finding{{ID: FindHAUnverified, Severity: wizard.Warning,
			Message:     fmt.Sprintf("cannot verify that this host masters logical host %s: %s is missing", c.Cluster.LogicalHost, cmd.Path),
			Remediation: "check with haget -f mastered that this physical host masters the logical host before the upgrade (seed 003)"}}, nil
	}
	var out strings.Builder
	cmd.Output = &out
	if _, err := env.Exec.Run(ctx, cmd); err != nil {
		return nil, fmt.Errorf("ha/prepare: %w", err)
	}
	for _, f := range strings.Fields(out.String()) {
		if f == c.Cluster.LogicalHost {
			return nil, nil
		}
	}
	return []wizard.Finding{{ID: FindHANotMaster, Severity: wizard.Inhibitor,
		Message:     fmt.Sprintf("this physical host does not master logical host %s (haget -f mastered: %q)", c.Cluster.LogicalHost, strings.TrimSpace(out.String())),
		Remediation: "start the upgrade on the physical host that currently masters the logical host (seed 003, Sun Cluster 2.2)"}}, nil
}

func (s *haPrepare) Check(ctx context.Context, env *wizard.Env) (bool, string, error) {
	return s.c.driver().PrepareCheck(ctx, s.c, env)
}

// vcsConf reports whether haconf is installed, to open and save the VCS
// configuration around changes.
func (c Config) vcsConf() bool { return exists(c.vcs().ConfWritable().Path) }

func (s *haPrepare) Plan(ctx context.Context, env *wizard.Env) ([]wizard.Action, error) {
	return s.c.driver().PreparePlan(s.c, env), nil
}

// Undo reverses the preparation from its receipts.
func (s *haPrepare) Undo(ctx context.Context, env *wizard.Env, receipts []wizard.Receipt) ([]wizard.Action, error) {
	return s.c.reverseHA(env, receipts)
}

// reverseHA takes back the cluster changes ha/prepare and post/ha-restore made:
// each is the other's reverse, so one table serves both undos — a data service
// unregistered is registered again (and back), a dependency unlinked is linked,
// a resource disabled is enabled. Veritas changes are wrapped in haconf
// -makerw / -dump -makero where the cluster has haconf.
func (c Config) reverseHA(env *wizard.Env, receipts []wizard.Receipt) ([]wizard.Action, error) {
	ds, err := receiptsData(env, receipts)
	if err != nil {
		return nil, err
	}
	var acts []wizard.Action
	for _, d := range ds {
		switch d.Op {
		case "unregister":
			acts = append(acts, cmdAction(env, c.sc22().Register("-h", c.Cluster.LogicalHost), opData{Op: "register"}))
		case "register":
			acts = append(acts, cmdAction(env, c.sc22().Off(), opData{Op: "monitor-prep"}),
				cmdAction(env, c.sc22().Unregister(), opData{Op: "unregister"}))
		case "vcs-unlink":
			acts = append(acts, cmdAction(env, c.vcs().Link(c.Cluster.Resource, d.Arg), opData{Op: "vcs-link", Arg: d.Arg}))
		case "vcs-link":
			acts = append(acts, cmdAction(env, c.vcs().Unlink(c.Cluster.Resource, d.Arg), opData{Op: "vcs-unlink", Arg: d.Arg}))
		case "vcs-disable":
			acts = append(acts, cmdAction(env, c.vcs().SetEnabled(d.Arg, true), opData{Op: "vcs-enable", Arg: d.Arg}))
		case "vcs-enable":
			acts = append(acts, cmdAction(env, c.vcs().SetEnabled(d.Arg, false), opData{Op: "vcs-disable", Arg: d.Arg}))
		}
	}
	if c.Regime == RegimeVeritas && len(acts) > 0 && c.vcsConf() {
		acts = append([]wizard.Action{cmdAction(env, c.vcs().ConfWritable(), opData{Op: "vcs-conf"})}, acts...)
		acts = append(acts, cmdAction(env, c.vcs().ConfSave(), opData{Op: "vcs-conf"}))
	}
	return acts, nil
}

// haRestore is post/ha-restore.
type haRestore struct{ step }

// HARestore is post/ha-restore, the appendix's HA step after the upgrade (seed
// 003): Veritas — the dependency tree of the installation again (the mail
// resource linked to the logical IP and the shared mount, enabled); Sun Cluster
// 2.2 — the data service registered again for the logical host (`hareg -r
// iMS50 -h LOGICALHOST`, what the agent installation does); Sun Cluster 3 —
// nothing: the SUNWscims package on each node is the operator action
// post/sc3-agent (steps/operator.go).
func HARestore(c Config) wizard.Step {
	s := &haRestore{step{c.withDefaults()}}
	return wizard.Phase{
		ID: IDHARestore, Title: "Restore the cluster's control of the Messaging Server",
		Check: s.Check, Plan: s.Plan, Undo: s.Undo,
		Establishes: []wizard.Fact{wizard.Not(facts.ClusterReleased)}, UndoText: s.c.restoreUndoText(),
	}.Step()
}

func (s *haRestore) Check(ctx context.Context, env *wizard.Env) (bool, string, error) {
	return s.c.driver().RestoreCheck(ctx, s.c, env)
}

func (s *haRestore) Plan(ctx context.Context, env *wizard.Env) ([]wizard.Action, error) {
	return s.c.driver().RestorePlan(s.c, env, IDHARestore), nil
}

func (s *haRestore) Undo(ctx context.Context, env *wizard.Env, receipts []wizard.Receipt) ([]wizard.Action, error) {
	return s.c.reverseHA(env, receipts)
}
