package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"mswizard/fixtures/sim"
	stepshost "mswizard/steps/host"
	"mswizard/wizard"
	"mswizard/wizard/journal"
)

// The appendix's strict order (iPlanet Messaging Server 5.2 Installation
// Guide, Appendix C, "To back out of the upgrade", steps 1 and 5): stop
// Delegated Administrator, the Web Server, the Messaging Server, the Directory
// Server, the Administration Server; start them in the reverse order. These
// tests read what ran from the journal, through the real binary.

// appendixStop is the stop order; the start order is its reverse.
var appendixStop = []string{"delegated-admin", "web", "messaging", "directory", "admin"}

// serviceOp is one service command that ran: stop or start, and the
// component it acted on.
type serviceOp struct{ verb, comp, summary string }

func (o serviceOp) String() string { return o.verb + " " + o.comp }

// classify names the service command a journal summary ran: SERVER-ROOT or
// WebServerRoot https-NAME/stop|start (Delegated Administrator's instance is
// Delegated Administrator), stop-admin/start-admin, stop-msg/start-msg and
// `imsimta stop|start dispatcher` (the Messaging Server). Anything else (a
// configutil switch, a down file, a verification) is no service command.
func (h *simHost) classify(summary string) (serviceOp, bool) {
	f := strings.Fields(summary)
	if len(f) == 0 {
		return serviceOp{}, false
	}
	base, parent := filepath.Base(f[0]), filepath.Base(filepath.Dir(f[0]))
	op := serviceOp{summary: summary}
	switch {
	case base == "imsimta" && len(f) > 1 && (f[1] == "stop" || f[1] == "start"):
		op.verb, op.comp = f[1], "messaging"
	case (base == "stop-msg" || base == "start-msg") && len(f) > 1 && f[1] == "watcher":
		// The 6.x watcher is the auto-restart mechanism (host-facts F-SVC-004),
		// not a component of the appendix's order: the backout turns it off
		// before the first stop and on with the Messaging Server's start, as
		// the upgrade does (stop/auto-restart, post/auto-restart).
		return serviceOp{}, false
	case base == "stop-msg" || base == "start-msg":
		op.verb, op.comp = strings.TrimSuffix(base, "-msg"), "messaging"
	case base == "stop-admin" || base == "start-admin":
		op.verb, op.comp = strings.TrimSuffix(base, "-admin"), "admin"
	case (base == "stop" || base == "start") && strings.HasPrefix(parent, "https-"):
		op.verb, op.comp = base, "web"
		if parent == h.w.DAInstance() {
			op.comp = "delegated-admin"
		}
	default:
		return serviceOp{}, false
	}
	return op, true
}

// ops lists the service commands the journal's records of kind (done for a
// run, undo-done for a backout) ran, in order. An action that found its units
// already as wanted ran no command (its receipt has none) and is left out.
func (h *simHost) ops(t *testing.T, recs []journal.Record, kind journal.Kind) []serviceOp {
	t.Helper()
	var out []serviceOp
	for _, r := range recs {
		if r.Kind != kind {
			continue
		}
		var rc wizard.Receipt
		if len(r.Receipt) > 0 {
			if err := json.Unmarshal(r.Receipt, &rc); err != nil {
				t.Fatalf("journal record %d: %v", r.Seq, err)
			}
		}
		if rc.Command == nil {
			continue
		}
		if op, ok := h.classify(r.Summary); ok {
			out = append(out, op)
		}
	}
	return out
}

func (h *simHost) journal(t *testing.T) []journal.Record {
	t.Helper()
	recs, err := journal.Read(h.w.StateDir())
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// compress drops repeats: the sequence of components as the appendix names them.
func compress(ops []serviceOp) []string {
	var out []string
	for _, o := range ops {
		s := o.String()
		if len(out) == 0 || out[len(out)-1] != s {
			out = append(out, s)
		}
	}
	return out
}

// requireAppendixOrder checks a backout's service commands: every stop before
// every start, the stops in the appendix's stop order and the starts in its
// start order.
func requireAppendixOrder(t *testing.T, ops []serviceOp, context string) {
	t.Helper()
	rank := func(o serviceOp) int { return slices.Index(appendixStop, o.comp) }
	started := false
	last := -1
	for i, o := range ops {
		switch o.verb {
		case "stop":
			if started {
				t.Errorf("%s: %s (%s) after a start: %v", context, o, o.summary, compress(ops))
				return
			}
			if r := rank(o); r < last {
				t.Errorf("%s: %s (%s) out of the appendix's stop order: %v", context, o, o.summary, compress(ops[:i+1]))
				return
			} else {
				last = r
			}
		case "start":
			if !started {
				started, last = true, len(appendixStop)
			}
			if r := rank(o); r > last {
				t.Errorf("%s: %s (%s) out of the appendix's start order: %v", context, o, o.summary, compress(ops[:i+1]))
				return
			} else {
				last = r
			}
		}
	}
}

// TestBackoutStopsAndStartsInTheAppendixsStrictOrder runs the upgrade on a
// host with Delegated Administrator and a Web Server in its own root up to
// each step that touches a service, and to the end, and backs it out each
// time: the backout's service commands, read from the journal, follow the
// appendix's strict order, and undo exactly what the run did.
func TestBackoutStopsAndStartsInTheAppendixsStrictOrder(t *testing.T) {
	t.Parallel()
	requireTools(t)
	bin := buildBinary(t)
	h := upHost(t, bin, hostOptions{webServerRoot: true, delegatedAdmin: true})
	for _, tc := range []struct {
		until string
		// want is the backout's service commands, component by component.
		want []string
	}{
		{"stop/dispatcher", []string{"start messaging"}},
		{"stop/delegated-admin", []string{"start messaging", "start delegated-admin"}},
		{"stop/webserver-root", []string{"start messaging", "start web", "start delegated-admin"}},
		{"stop/web", []string{"start messaging", "start web", "start delegated-admin"}},
		{"stop/messaging", []string{"start messaging", "start web", "start delegated-admin"}},
		{"stop/admin", []string{"start admin", "start messaging", "start web", "start delegated-admin"}},
		{"post/start", []string{"stop web", "stop messaging", "stop admin", "start admin", "start messaging", "start web", "start delegated-admin"}},
		{"post/start-webserver-root", []string{"stop web", "stop messaging", "stop admin", "start admin", "start messaging", "start web", "start delegated-admin"}},
		{"", []string{"stop delegated-admin", "stop web", "stop messaging", "stop admin", "start admin", "start messaging", "start web", "start delegated-admin"}},
	} {
		name := tc.until
		if name == "" {
			name = "a completed upgrade"
		}
		args := []string{"upgrade", "--answers", h.inf, "--yes"}
		if tc.until != "" {
			args = append(args, "--until", tc.until)
		}
		if out, code := run(t, h.bin, args...); code != 0 {
			t.Fatalf("upgrade --until %q exit %d:\n%s", tc.until, code, out)
		}
		if tc.until == "" {
			h.requireForwardOrder(t)
			h.requireDryRunOrder(t)
		}
		n := len(h.journal(t))
		if out, code := run(t, h.bin, "backout", "--answers", h.inf, "--yes"); code != 0 {
			t.Fatalf("backout after %s exit %d:\n%s", name, code, out)
		}
		ops := h.ops(t, h.journal(t)[n:], journal.KindUndoDone)
		requireAppendixOrder(t, ops, "backout after "+name)
		if got := compress(ops); !slices.Equal(got, tc.want) {
			t.Errorf("backout after %s ran %v, want %v", name, got, tc.want)
		}
		h.requirePortsAnswer(t)
		for _, inst := range []string{h.w.WebRootInstance(), h.w.DAInstance()} {
			if !h.webRootAnswers(t, inst) {
				t.Errorf("backout after %s: %s does not answer", name, inst)
			}
		}
		if t.Failed() {
			t.FailNow()
		}
	}
}

// requireForwardOrder: the run stopped the dispatcher first, then Delegated
// Administrator and the Web Server in its own root before the rest of the
// Messaging Server, and started them last.
func (h *simHost) requireForwardOrder(t *testing.T) {
	t.Helper()
	recs := h.journal(t)
	// This epoch: the records since the last backout.
	for i := len(recs) - 1; i >= 0; i-- {
		if recs[i].Kind == journal.KindBackoutDone {
			recs = recs[i+1:]
			break
		}
	}
	got := compress(h.ops(t, recs, journal.KindDone))
	want := []string{"stop messaging", "stop delegated-admin", "stop web", "stop messaging", "stop admin",
		"start messaging", "start admin", "start web", "start delegated-admin"}
	// The dispatcher first (appendix pre-upgrade step 1), then Delegated
	// Administrator and the web servers; post/start starts the messaging
	// services, the Administration Server and the server root's web instances
	// (start-msg's order, then admin, then web); the web server in its own
	// root and Delegated Administrator come last.
	if !slices.Equal(got, want) {
		t.Errorf("the upgrade ran %v, want %v", got, want)
	}
}

// requireDryRunOrder: `backout --dry-run` lists the undos in the appendix's
// order and prints the procedure with every component.
func (h *simHost) requireDryRunOrder(t *testing.T) {
	t.Helper()
	out, code := run(t, h.bin, "backout", "--answers", h.inf, "--dry-run")
	if code != 0 {
		t.Fatalf("backout --dry-run exit %d:\n%s", code, out)
	}
	order := []string{"undo post/start-delegated-admin", "undo post/start-webserver-root", "undo post/start ",
		"undo upgrade/run-installer", "undo stop/admin", "undo stop/messaging", "undo stop/web ", "undo stop/webserver-root", "undo stop/delegated-admin"}
	last := -1
	for _, s := range order {
		i := strings.Index(out, s)
		if i < 0 || i < last {
			t.Errorf("backout --dry-run: %q missing or out of the appendix's order:\n%s", s, out)
			return
		}
		last = i
	}
	for _, want := range []string{"1. iPlanet Delegated Administrator: " + h.w.DelegatedAdminRoot(),
		"4. Directory Server: skipped, no instance in the server root"} {
		if !strings.Contains(out, want) {
			t.Errorf("backout --dry-run does not print %q:\n%s", want, out)
		}
	}
}

// webRootAnswers: a WebServerRoot instance's port accepts a connection.
func (h *simHost) webRootAnswers(t *testing.T, inst string) bool {
	t.Helper()
	svcs, err := stepshost.Services(h.w.WebRootLayout())
	if err != nil {
		t.Fatal(err)
	}
	sv, ok := svcs[inst]
	if !ok {
		t.Fatalf("%s has no port in its magnus.conf", inst)
	}
	return endpointAnswers(sv)
}

// TestAHostWithoutTheComponentsSaysTheyAreSkipped: on the default world the
// Delegated Administrator and web server root steps are skipped, and the
// journal says why.
func TestAHostWithoutTheComponentsSaysTheyAreSkipped(t *testing.T) {
	t.Parallel()
	requireTools(t)
	bin := buildBinary(t)
	h := upHost(t, bin, hostOptions{})
	plan, code := run(t, h.bin, "plan", "--answers", h.inf)
	if code != 0 {
		t.Fatalf("plan exit %d:\n%s", code, plan)
	}
	for _, want := range []string{"nothing to do: Delegated Administrator not installed (DelegatedAdminRoot unset): skipped",
		"nothing to do: no Web Server in its own root (WebServerRoot unset): skipped"} {
		if !strings.Contains(plan, want) {
			t.Errorf("plan does not say %q:\n%s", want, plan)
		}
	}
	if out, code := run(t, h.bin, "upgrade", "--answers", h.inf, "--yes", "--until", "stop/web"); code != 0 {
		t.Fatalf("upgrade exit %d:\n%s", code, out)
	}
	notes := map[string]string{}
	for _, r := range h.journal(t) {
		if r.Kind == journal.KindSkipped {
			notes[r.Step] = r.Note
		}
	}
	for step, want := range map[string]string{
		"stop/delegated-admin": "Delegated Administrator not installed (DelegatedAdminRoot unset): skipped",
		"stop/webserver-root":  "no Web Server in its own root (WebServerRoot unset): skipped",
	} {
		if !strings.Contains(notes[step], want) {
			t.Errorf("journal: %s skipped with %q, want %q", step, notes[step], want)
		}
	}
	out, code := run(t, h.bin, "backout", "--answers", h.inf, "--dry-run")
	if code != 0 {
		t.Fatalf("backout --dry-run exit %d:\n%s", code, out)
	}
	if !strings.Contains(out, "1. iPlanet Delegated Administrator: skipped, not installed (DelegatedAdminRoot unset)") {
		t.Errorf("backout --dry-run does not say Delegated Administrator is skipped:\n%s", out)
	}
	if out, code := run(t, h.bin, "backout", "--answers", h.inf, "--yes"); code != 0 {
		t.Fatalf("backout exit %d:\n%s", code, out)
	}
}

// TestOperatorActionsNeedAConfirmation: a batch run without --yes stops with
// exit 3 at each operator action that applies, naming it and the line that
// confirms it; with those lines it goes on to the end.
func TestOperatorActionsNeedAConfirmation(t *testing.T) {
	t.Parallel()
	requireTools(t)
	bin := buildBinary(t)
	h := upHost(t, bin, hostOptions{webServerRoot: true, delegatedAdmin: true})
	// The installer's point of no return is confirmed with --yes elsewhere;
	// here Confirmed lines alone must carry the run past the operator actions.
	out, code := run(t, h.bin, "upgrade", "--answers", h.inf, "--yes", "--until", "post/start-delegated-admin")
	if code != 0 {
		t.Fatalf("upgrade --until post/start-delegated-admin exit %d:\n%s", code, out)
	}
	plan, code := run(t, h.bin, "plan", "--answers", h.inf)
	if code != 0 {
		t.Fatalf("plan exit %d:\n%s", code, plan)
	}
	for _, want := range []string{"post/web-server-upgrade", "operator action: upgrade the existing iPlanet Web Server to iPlanet Web Server 6.0 Service Pack 2",
		"post/delegated-admin-upgrade", "operator action: uninstall the current iPlanet Delegated Administrator"} {
		if !strings.Contains(plan, want) {
			t.Errorf("plan does not show %q:\n%s", want, plan)
		}
	}
	var confirmed []string
	for _, id := range []string{"post/web-server-upgrade", "post/delegated-admin-upgrade"} {
		out, code := run(t, h.bin, "upgrade", "--answers", h.inf)
		if code != 3 {
			t.Fatalf("upgrade without the confirmation of %s: exit %d, want 3:\n%s", id, code, out)
		}
		for _, want := range []string{id, "Confirmed = " + id} {
			if !strings.Contains(out, want) {
				t.Errorf("the stop does not name %q:\n%s", want, out)
			}
		}
		if rep := h.report(t); !strings.Contains(rep, "| "+id+" | ") || !strings.Contains(rep, "**waiting for a confirmation**: confirm it in the TUI, or add `Confirmed = "+id+"`") {
			t.Errorf("report.md does not show %s waiting for its confirmation:\n%s", id, rep)
		}
		confirmed = append(confirmed, "Confirmed = "+id)
		appendAnswers(t, h, "Confirmed = "+id)
	}
	if out, code := run(t, h.bin, "upgrade", "--answers", h.inf); code != 0 {
		t.Fatalf("upgrade with %v: exit %d:\n%s", confirmed, code, out)
	}
	notes := map[string]string{}
	for _, r := range h.journal(t) {
		if r.Kind == journal.KindDone {
			var rc wizard.Receipt
			_ = json.Unmarshal(r.Receipt, &rc)
			notes[r.Step] = rc.Note
		}
	}
	for _, id := range []string{"post/web-server-upgrade", "post/delegated-admin-upgrade"} {
		if !strings.Contains(notes[id], "confirmed by Confirmed = "+id) {
			t.Errorf("journal: %s done with %q, want the confirmation named", id, notes[id])
		}
	}
	report := h.report(t)
	for _, want := range []string{"## Operator actions", "| post/web-server-upgrade | ", "confirmed by Confirmed = post/web-server-upgrade",
		"| post/delegated-admin-upgrade | ", "confirmed by Confirmed = post/delegated-admin-upgrade", "| post/sc3-agent | ", "does not apply: not a Sun Cluster 3 host"} {
		if !strings.Contains(report, want) {
			t.Errorf("report.md does not show %q:\n%s", want, report)
		}
	}
}

func (h *simHost) report(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(h.w.StateDir(), "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// appendAnswers adds [Wizard] lines (its last section) to the answers file.
func appendAnswers(t *testing.T, h *simHost, lines ...string) {
	t.Helper()
	b, err := os.ReadFile(h.inf)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	if !strings.HasSuffix(text, "\n") {
		text += "\n"
	}
	if err := os.WriteFile(h.inf, []byte(text+strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestClusterOperatorActions: on Sun Cluster 3 the SUNWscims agent on every
// node named in ClusterNodes is an operator action confirmed before post/start
// enables the resource again; on Veritas the Directory Server is checked again
// after ha/prepare's offline/online cycle, and the rest of chapter 4 is an
// operator action.
func TestClusterOperatorActions(t *testing.T) {
	t.Parallel()
	requireTools(t)
	bin := buildBinary(t)
	t.Run("sc3", func(t *testing.T) {
		t.Parallel()
		h := upHost(t, bin, hostOptions{regime: "sc3"})
		h = rewriteAnswers(t, h, []string{"Regime = sc3", "ClusterBin = " + h.w.BinDir(), "ClusterResource = " + sim.SC3Resource,
			"ClusterGroup = " + sim.SC3Group, "ClusterNodes = node1 node2"})
		if out, code := run(t, h.bin, "upgrade", "--answers", h.inf, "--yes", "--until", "post/ha-restore"); code != 0 {
			t.Fatalf("upgrade --until post/ha-restore exit %d:\n%s", code, out)
		}
		enable := []string{"scswitch", "-e", "-j", sim.SC3Resource}
		out, code := run(t, h.bin, "upgrade", "--answers", h.inf, "--until", "post/start")
		if code != 3 {
			t.Fatalf("upgrade without confirming the agent: exit %d, want 3:\n%s", code, out)
		}
		for _, want := range []string{"post/sc3-agent", "SUNWscims", "node1, node2", "Confirmed = post/sc3-agent"} {
			if !strings.Contains(out, want) {
				t.Errorf("the stop does not name %q:\n%s", want, out)
			}
		}
		if slices.ContainsFunc(clusterCmds(t, h), func(c []string) bool { return slices.Equal(c, enable) }) {
			t.Fatalf("the resource was enabled again before the agent upgrade was confirmed: %q", clusterCmds(t, h))
		}
		appendAnswers(t, h, "Confirmed = post/sc3-agent")
		if out, code := run(t, h.bin, "upgrade", "--answers", h.inf, "--until", "post/start"); code != 0 {
			t.Fatalf("upgrade with Confirmed = post/sc3-agent exit %d:\n%s", code, out)
		}
		if !slices.ContainsFunc(clusterCmds(t, h), func(c []string) bool { return slices.Equal(c, enable) }) {
			t.Errorf("post/start did not enable the resource: %q", clusterCmds(t, h))
		}
	})
	t.Run("veritas", func(t *testing.T) {
		t.Parallel()
		h := upHost(t, bin, hostOptions{regime: "veritas"})
		h = rewriteAnswers(t, h, []string{"Regime = veritas", "ClusterBin = " + h.w.BinDir(), "ClusterResource = " + sim.VCSResource,
			"ClusterGroup = " + sim.VCSGroup, "ClusterSystem = budgie", "IPResource = logical_IP", "MountResource = mountshared"})
		if out, code := run(t, h.bin, "upgrade", "--answers", h.inf, "--yes", "--until", "post/veritas-chapter4"); code != 0 {
			t.Fatalf("upgrade exit %d:\n%s", code, out)
		}
		online, checked := -1, -1
		notes := map[string]string{}
		for i, r := range h.journal(t) {
			if r.Step == "ha/prepare" && r.Kind == journal.KindDone && strings.Contains(r.Summary, "hagrp") && strings.Contains(r.Summary, "-online") {
				online = i
			}
			if r.Step == "check/directory-up-after-ha" && (r.Kind == journal.KindSkipped || r.Kind == journal.KindDone) {
				checked, notes[r.Step] = i, r.Note
			}
			if r.Step == "post/veritas-chapter4" && r.Kind == journal.KindDone {
				var rc wizard.Receipt
				_ = json.Unmarshal(r.Receipt, &rc)
				notes[r.Step] = rc.Note
			}
		}
		if online < 0 || checked < online {
			t.Errorf("the Directory Server was not checked after the group came back online (online at record %d, check at %d)", online, checked)
		}
		if !strings.Contains(notes["check/directory-up-after-ha"], "the root DSE answers") {
			t.Errorf("check/directory-up-after-ha: %q, want the root DSE's answer", notes["check/directory-up-after-ha"])
		}
		if !strings.Contains(notes["post/veritas-chapter4"], "chapter 4") {
			t.Errorf("post/veritas-chapter4: %q, want the chapter 4 operator action confirmed", notes["post/veritas-chapter4"])
		}
	})
}
