package service

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"mswizard/fixtures/layout"
	"mswizard/fixtures/ldapd"
	"mswizard/fixtures/sim"
	"mswizard/fixtures/world"
	hostmodel "mswizard/steps/host"
	"mswizard/wizard"
	"mswizard/wizard/journal"
)

// recExec runs commands for real and remembers every argv.
type recExec struct {
	mu   sync.Mutex
	argv [][]string
	wizard.OSExecer
}

func (r *recExec) Run(ctx context.Context, c wizard.Command) (wizard.Result, error) {
	r.mu.Lock()
	r.argv = append(r.argv, c.Argv())
	r.mu.Unlock()
	return r.OSExecer.Run(ctx, c)
}

func (r *recExec) ran() [][]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.argv)
}

// portBase finds P such that P+1 … P+12 are free on 127.0.0.1.
func portBase(t *testing.T) int {
	t.Helper()
	base, err := ldapd.FreePorts(12)
	if err != nil {
		t.Fatal(err)
	}
	return base
}

// simWorld builds a small world (a 5.1 host: no watcher), installs the sim
// for regime with this test binary, starts it, and at cleanup stops it and
// fails if a process is left.
func simWorld(t *testing.T, regime Regime) (layout.World, Config) {
	t.Helper()
	return buildSimWorld(t, regime, false)
}

// buildSimWorld is simWorld, on a 6.x-like host with the watcher
// (world.Options.Watcher) when watcher is set: for the tests of auto-restart.
func buildSimWorld(t *testing.T, regime Regime, watcher bool) (layout.World, Config) {
	t.Helper()
	if testing.Short() {
		t.Skip("integration with the simulated world: not under -short")
	}
	w := layout.Default(t.TempDir())
	if _, err := world.Build(t.Context(), world.Options{Dir: w.Dir, Seed: 1, Scale: world.Small, PortBase: portBase(t), Watcher: watcher}); err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.Install(w, exe, string(regime), []string{"MSWIZARD_SIM_MAIN=1"}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := sim.StopAll(context.Background(), w); err != nil {
			t.Errorf("StopAll: %v", err)
		}
		if left := sim.WorldProcesses(w); len(left) > 0 {
			t.Errorf("processes left behind: %v", left)
		}
	})
	if err := sim.StartAll(t.Context(), w, string(regime)); err != nil {
		t.Fatal(err)
	}
	c := Config{Host: w.Layout(), Regime: regime, StopTimeout: 20 * time.Second, StartTimeout: 20 * time.Second,
		Cluster: Cluster{Bin: w.BinDir()}}
	switch regime {
	case RegimeSC3:
		c.Cluster.Resource, c.Cluster.Group, c.Cluster.Nodes = sim.SC3Resource, sim.SC3Group, []string{"budgie", "kestrel"}
	case RegimeDaemontools:
		c.ServiceDir = filepath.Dir(w.ServiceDir("x"))
	case RegimeVeritas:
		c.Cluster.Resource, c.Cluster.Group, c.Cluster.System = sim.VCSResource, sim.VCSGroup, sim.Node(w)
		c.Cluster.IPResource, c.Cluster.MountResource = "logical_IP", "mountshared"
	}
	return w, c
}

// allPorts are the messaging, admin and web ports of a world with their owners.
func allPorts(t *testing.T, w layout.World) map[string]int {
	p, err := hostmodel.Services(w.Layout())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, n := range append(append(MessagingServices(), AdminUnit), w.WebInstances()...) {
		if p[n].Port > 0 { // the store and the scheduler open no port
			out[n] = p[n].Port
		}
	}
	return out
}

func requirePorts(t *testing.T, w layout.World, open bool, skip ...string) {
	t.Helper()
	for n, port := range allPorts(t, w) {
		if slices.Contains(skip, n) {
			continue
		}
		if got := portOpen(t.Context(), "127.0.0.1", port); got != open {
			t.Errorf("%s port %d open = %v, want %v", n, port, got, open)
		}
	}
}

// ran is one step's receipts.
type ran struct {
	s  wizard.Step
	rs []wizard.Receipt
}

// apply runs each step as the runner would: Check, then Plan and every action.
func apply(t *testing.T, env *wizard.Env, steps ...wizard.Step) []ran {
	t.Helper()
	var out []ran
	for _, s := range steps {
		if p := wizard.Describe(s).Preflight; p != nil {
			fs, err := p(t.Context(), env)
			if err != nil {
				t.Fatalf("%s: findings: %v", s.ID(), err)
			}
			for _, f := range fs {
				if f.Severity == wizard.Inhibitor {
					t.Fatalf("%s: inhibitor %s: %s", s.ID(), f.ID, f.Message)
				}
			}
		}
		done, _, err := s.Check(t.Context(), env)
		if err != nil {
			t.Fatalf("%s: check: %v", s.ID(), err)
		}
		if done {
			continue
		}
		rs, err := runPlan(t, t.Context(), env, s)
		if err != nil {
			t.Fatalf("%s: %v", s.ID(), err)
		}
		out = append(out, ran{s, rs})
	}
	return out
}

// backout undoes the steps newest first, as the journal read backwards.
func backout(t *testing.T, env *wizard.Env, done []ran) {
	t.Helper()
	for i := len(done) - 1; i >= 0; i-- {
		acts, err := done[i].s.Undo(t.Context(), env, done[i].rs)
		if err != nil {
			t.Fatalf("%s: undo: %v", done[i].s.ID(), err)
		}
		if _, err := runActions(t.Context(), done[i].s.ID(), acts); err != nil {
			t.Fatalf("%s: undo: %v", done[i].s.ID(), err)
		}
	}
}

// startedOrder reads the daemons' "started" lines from the sim log after offset.
func startedOrder(t *testing.T, w layout.World, offset int) []string {
	b, err := os.ReadFile(w.SimLog())
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`^\S+ (\S+)\[\d+\]: started`)
	var out []string
	for _, l := range strings.Split(string(b[offset:]), "\n") {
		if m := re.FindStringSubmatch(l); m != nil {
			out = append(out, m[1])
		}
	}
	return out
}

func logSize(w layout.World) int {
	fi, err := os.Stat(w.SimLog())
	if err != nil {
		return 0
	}
	return int(fi.Size())
}

// stepsOf picks the steps with the given IDs from a runbook, in its order.
func stepsOf(all []wizard.Step, skip ...string) []wizard.Step {
	var out []wizard.Step
	for _, s := range all {
		if !slices.Contains(skip, s.ID()) {
			out = append(out, s)
		}
	}
	return out
}

type dialer struct{ url, dn, pw string }

func (d dialer) DialLDAP(ctx context.Context) (ldap.Client, error) {
	c, err := ldap.DialURL(d.url)
	if err != nil {
		return nil, err
	}
	if err := c.Bind(d.dn, d.pw); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// TestSimPlainStopsEverythingButTheDirectoryThenStartsInOrder runs the
// plain regime's steps on the default 5.1 host, which has no watcher (no
// auto-restart switch is touched), and on a 6.x-like host with one (the
// switches go off for the upgrade and come back on backout).
func TestSimPlainStopsEverythingButTheDirectoryThenStartsInOrder(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		watcher bool
	}{
		{"a 5.1 host without a watcher", false},
		{"a 6.x-like host with a watcher", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			simPlainStopsAndStarts(t, tc.watcher)
		})
	}
}

func simPlainStopsAndStarts(t *testing.T, watcher bool) {
	w, c := buildSimWorld(t, RegimePlain, watcher)
	dir := ldapd.RequireOpenLDAP(t, ldapd.Options{})
	x := &recExec{}
	c.Directory = dialer{dir.URL, dir.RootDN, dir.RootPW}
	env := (&wizard.Env{Exec: x, Now: time.Now, StateDir: t.TempDir()}).Nop()
	if err := sim.SetFault(w, "none", ""); err != nil { // the faults dir exists, no knob armed
		t.Fatal(err)
	}
	localBefore, err := os.ReadFile(w.LocalConf())
	if err != nil {
		t.Fatal(err)
	}
	conf, _ := ReadConfig(w.Layout())
	watcherBefore, _ := conf.Value("local.watcher.enable")

	pre := apply(t, env, PreUpgrade(c)...)
	requirePorts(t, w, false)
	if !portOpen(t.Context(), dir.Host, dir.Port) {
		t.Error("the Directory Server was stopped")
	}
	conf, _ = ReadConfig(w.Layout())
	if watcher && (conf.Bool("local.watcher.enable", true) || conf.Bool("local.autorestart", false)) {
		t.Errorf("auto-restart not off during the upgrade: watcher %q autorestart %q", conf["local.watcher.enable"], conf["local.autorestart"])
	}
	if !watcher {
		// host-facts: F-SVC-004: nothing to switch off, nothing invented.
		for _, argv := range x.ran() {
			if filepath.Base(argv[0]) == "configutil" {
				t.Errorf("ran %q on a host without a watcher", argv)
			}
		}
		if after, _ := os.ReadFile(w.LocalConf()); !bytes.Equal(after, localBefore) {
			t.Errorf("local.conf changed on a host without a watcher:\n%s", after)
		}
	}
	var stops [][]string // what ran, without the configutil switches
	for _, argv := range x.ran() {
		if filepath.Base(argv[0]) != "configutil" {
			stops = append(stops, argv)
		}
	}
	if len(stops) == 0 || !slices.Equal(stops[0], []string{w.IMSimta(), "stop", "dispatcher"}) {
		t.Errorf("the stops were %q, want imsimta stop dispatcher first", stops)
	}

	// A rerun finds every goal holding: nothing runs again.
	before := len(x.ran())
	if again := apply(t, env, stepsOf(PreUpgrade(c), IDDirectoryUp, IDDirectoryUpAfterHA)...); len(again) != 0 {
		t.Errorf("a second run did work: %v", again)
	}
	if n := len(x.ran()); n != before {
		t.Errorf("a second run ran %q", x.ran()[before:])
	}

	// Backout: the journal read backwards restores the running server.
	backout(t, env, pre)
	requirePorts(t, w, true)
	conf, _ = ReadConfig(w.Layout())
	if v, _ := conf.Value("local.watcher.enable"); v != watcherBefore {
		t.Errorf("after backout local.watcher.enable = %q, want %q", v, watcherBefore)
	}

	// The upgrade path: stop again, then the post-upgrade steps.
	apply(t, env, PreUpgrade(c)...)
	requirePorts(t, w, false)
	off := logSize(w)
	apply(t, env, PostUpgrade(c)...)
	requirePorts(t, w, true)
	want := append(append(MessagingServices(), sim.AdminServ), w.WebInstances()...)
	want = slices.DeleteFunc(want, func(s string) bool { return s == "watcher" }) // none, or started by post/auto-restart
	got := startedOrder(t, w, off)
	if len(got) < len(want) || !slices.Equal(got[:len(want)], want) {
		t.Errorf("start order = %q, want %q", got, want)
	}
	if !watcher && slices.Contains(got, "watcher") {
		t.Errorf("a watcher was started on a host without one: %q", got)
	}
}

func TestSimHARegimesUseTheClusterAndNeverAPlainStopMsg(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		regime Regime
		skip   []string // steps the stand-ins cannot run yet
		want   [][]string
	}{
		{RegimeSC22, nil, [][]string{
			{"hareg", "-n", "iMS50"}, {"hareg", "-n", "iMS50"}, {"hareg", "-u", "iMS50"}, // pre
			{"hareg", "-r", "iMS50", "-h", "budgie.siroe.com"}, {"hareg", "-y", "iMS50"}, // post
		}},
		{RegimeSC3, nil, [][]string{
			{"scswitch", "-n", "-M", "-j", "ims-rs"}, // the fault monitor off first (seed 004)
			{"scswitch", "-n", "-j", "ims-rs"}, {"scswitch", "-e", "-j", "ims-rs"},
			{"scswitch", "-e", "-M", "-j", "ims-rs"},
		}},
		{RegimeVeritas, nil, [][]string{
			{"hares", "-offline", "mail", "-sys", "budgie"},
			{"hagrp", "-offline", "iMS5", "-sys", "budgie"},
			{"hares", "-modify", "mail", "Enabled", "0"},
			{"hares", "-unlink", "mail", "logical_IP"},
			{"hares", "-unlink", "mail", "mountshared"},
			{"hagrp", "-online", "iMS5", "-sys", "budgie"},
			{"hares", "-link", "mail", "logical_IP"},
			{"hares", "-link", "mail", "mountshared"},
			{"hares", "-modify", "mail", "Enabled", "1"},
			{"hares", "-online", "mail", "-sys", "budgie"},
		}},
	} {
		t.Run(string(tc.regime), func(t *testing.T) {
			t.Parallel()
			w, c := simWorld(t, tc.regime)
			x := &recExec{}
			env := (&wizard.Env{Exec: x, Now: time.Now, StateDir: t.TempDir()}).Nop()
			apply(t, env, stepsOf(PreUpgrade(c), append([]string{IDDirectoryUp, IDDirectoryUpAfterHA}, tc.skip...)...)...)
			requirePorts(t, w, false)
			apply(t, env, stepsOf(PostUpgrade(c), tc.skip...)...)
			requirePorts(t, w, true)
			for _, argv := range x.ran() {
				if slices.Equal(argv, []string{w.StopMsg()}) || slices.Equal(argv, []string{w.StartMsg()}) {
					t.Errorf("ran a whole-server %q under %s", argv, tc.regime)
				}
			}
			got, err := sim.ClusterCommands(w)
			if err != nil {
				t.Fatal(err)
			}
			var mine [][]string
			for _, g := range got {
				if g[0] != "hareg" || len(g) > 1 { // leave out the state queries (bare hareg)
					mine = append(mine, g)
				}
			}
			if !slices.EqualFunc(mine, tc.want, slices.Equal[[]string]) {
				t.Errorf("cluster commands =\n%q\nwant\n%q", mine, tc.want)
			}
		})
	}
}

func TestSimDaemontoolsKeepsServicesDownThroughSupervise(t *testing.T) {
	t.Parallel()
	w, c := simWorld(t, RegimeDaemontools)
	env := (&wizard.Env{Exec: wizard.OSExecer{}, Now: time.Now, StateDir: t.TempDir()}).Nop()
	pre := apply(t, env, stepsOf(PreUpgrade(c), IDDirectoryUp, IDDirectoryUpAfterHA)...)
	requirePorts(t, w, false)
	for _, s := range sim.DaemontoolsServices() {
		if !exists(DownFile(w.ServiceDir(s))) {
			t.Errorf("%s: no down file: a reboot would start it", s)
		}
		if pid, want, ok := superviseStatus(w.ServiceDir(s)); !ok || pid != 0 || want != 'd' {
			t.Errorf("%s: supervise status pid %d want %q (ok %v); want down", s, pid, want, ok)
		}
	}
	backout(t, env, pre)
	requirePorts(t, w, true)
	for _, s := range sim.DaemontoolsServices() {
		if exists(DownFile(w.ServiceDir(s))) {
			t.Errorf("%s: backout left the down file this run created", s)
		}
	}
}

func TestSimVeritasBackoutRestoresTheDependencyTree(t *testing.T) {
	t.Parallel()
	w, c := simWorld(t, RegimeVeritas)
	env := (&wizard.Env{Exec: wizard.OSExecer{}, Now: time.Now, StateDir: t.TempDir()}).Nop()
	pre := apply(t, env, stepsOf(PreUpgrade(c), IDDirectoryUp, IDDirectoryUpAfterHA)...)
	mail := func() (requires []string, enabled bool) {
		b, err := os.ReadFile(filepath.Join(w.ClusterDir(), "state.json"))
		if err != nil {
			t.Fatal(err)
		}
		var st struct {
			Resources map[string]struct {
				Enabled  bool     `json:"enabled"`
				Requires []string `json:"requires"`
			} `json:"resources"`
		}
		if err := json.Unmarshal(b, &st); err != nil {
			t.Fatal(err)
		}
		r := st.Resources[sim.VCSResource]
		slices.Sort(r.Requires)
		return r.Requires, r.Enabled
	}
	if req, on := mail(); len(req) != 0 || on {
		t.Fatalf("after ha/prepare mail requires %q, enabled %v; want unlinked and disabled", req, on)
	}
	backout(t, env, pre)
	if req, on := mail(); !slices.Equal(req, []string{"logical_IP", "mountshared"}) || !on {
		t.Errorf("after backout mail requires %q, enabled %v; want the installation's tree", req, on)
	}
	requirePorts(t, w, true)
}

func TestSimDaemontoolsPostUpgradeRemovesTheDownFilesAndStarts(t *testing.T) {
	t.Parallel()
	w, c := simWorld(t, RegimeDaemontools)
	env := (&wizard.Env{Exec: wizard.OSExecer{}, Now: time.Now, StateDir: t.TempDir()}).Nop()
	apply(t, env, stepsOf(PreUpgrade(c), IDDirectoryUp, IDDirectoryUpAfterHA)...)
	requirePorts(t, w, false)
	apply(t, env, PostUpgrade(c)...)
	requirePorts(t, w, true)
	for _, s := range sim.DaemontoolsServices() {
		if exists(DownFile(w.ServiceDir(s))) {
			t.Errorf("%s: the down file this run created is still there", s)
		}
		if pid, _, ok := superviseStatus(w.ServiceDir(s)); !ok || pid == 0 {
			t.Errorf("%s: not up under supervise", s)
		}
	}
}

// TestStopKilledMidActionAndResolvedDoneIsStillUndone: a wizard killed while
// stop-msg ran leaves a journal record the runner resolves as done, with no
// receipt data of its own. The undo must still start what the stop found
// running, from what the action recorded before its effect.
func TestStopKilledMidActionAndResolvedDoneIsStillUndone(t *testing.T) {
	t.Parallel()
	w, c := simWorld(t, RegimePlain)
	env := (&wizard.Env{Exec: wizard.OSExecer{}, Now: time.Now, StateDir: t.TempDir()}).Nop()
	s := StopMessaging(c)
	done := apply(t, env, s)
	if len(done) != 1 || len(done[0].rs) == 0 {
		t.Fatalf("stop/messaging ran %d step(s)", len(done))
	}
	requirePorts(t, w, false, AdminUnit, "https-admserv", "https-"+w.Host)
	// What the journal holds had the wizard been killed in each action and
	// each been resolved as done: its begin records (with the intent each
	// stated before its effect), no receipts.
	recs, err := journal.Read(env.StateDir)
	if err != nil {
		t.Fatal(err)
	}
	var killed []journal.Record
	for _, r := range recs {
		if r.Kind == journal.KindDone {
			r = journal.Record{Kind: journal.KindResolved, Step: r.Step, Action: r.Action, Summary: r.Summary,
				Decision: &journal.Decision{Kind: journal.DecideResolve, Subject: r.Summary, Choice: journal.ChoiceDone, Source: journal.SourceEvidence}}
		}
		killed = append(killed, r)
	}
	bare := wizard.Fold(killed).Step(s.ID()).Receipts
	if len(bare) != len(done[0].rs) {
		t.Fatalf("%d receipts resolved as done, want %d", len(bare), len(done[0].rs))
	}
	if _, err := os.Stat(filepath.Join(env.StateDir, legacyStateName)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a second write-ahead file %s exists (%v): the journal alone must hold the intent", legacyStateName, err)
	}
	acts, err := s.Undo(t.Context(), env, bare)
	if err != nil {
		t.Fatal(err)
	}
	if len(acts) == 0 {
		t.Fatal("the undo of a resolved stop does nothing: the services would stay down")
	}
	if _, err := runActions(t.Context(), s.ID(), acts); err != nil {
		t.Fatal(err)
	}
	requirePorts(t, w, true, AdminUnit, "https-admserv", "https-"+w.Host)
}
