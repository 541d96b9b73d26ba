package main

import (
	"bytes"
	"context"
	"math/rand/v2"
	"net/mail"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"mswizard/backup"
	"mswizard/fixtures/installer"
	"mswizard/fixtures/sim"
	"mswizard/fixtures/world"
	"mswizard/wizard/journal"
)

// preUpgrade is what a host looked like before any upgrade: a manifest of its
// server root, its local.conf and its auto-restart switches.
type preUpgrade struct {
	manifest  string
	localConf []byte
	switches  map[string]string
}

var autoRestartSwitches = []string{"local.watcher.enable", "local.autorestart"}

func (h *simHost) snapshot(t *testing.T) preUpgrade {
	t.Helper()
	res, err := backup.Create(context.Background(), backup.Options{Source: h.w.ServerRoot(), Dest: t.TempDir(), Name: "pre-upgrade"})
	if err != nil {
		t.Fatal(err)
	}
	lc, err := os.ReadFile(h.w.LocalConf())
	if err != nil {
		t.Fatal(err)
	}
	return preUpgrade{manifest: res.Manifest, localConf: lc, switches: h.switches(t)}
}

func (h *simHost) switches(t *testing.T) map[string]string {
	t.Helper()
	conf, err := world.ReadConf(h.w.LocalConf())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, k := range autoRestartSwitches {
		if v, ok := conf[k]; ok {
			out[k] = v
		}
	}
	return out
}

// backoutIgnore are the server-root paths a backout need not put back as they
// were, because running services and mail flow change them: logs, pid files,
// the queue and the store (checked message by message in
// TestBackoutLosesNoMail), the admin and web servers' logs and pid files.
func backoutIgnore(h *simHost) []string {
	msg, _ := filepath.Rel(h.w.ServerRoot(), h.w.MsgDir())
	ig := []string{msg + "/log", msg + "/run", msg + "/imta/queue", msg + "/store", "admin-serv/logs"}
	for _, inst := range h.w.WebInstances() {
		ig = append(ig, inst+"/logs")
	}
	return ig
}

// requireBackedOut checks a backout left the host as it was before the
// upgrade: 5.1 installed (imsimta version), the server-root tree equal to the pre-upgrade manifest
// (but for backoutIgnore; a directory whose entries came and went may differ in
// mtime, and local.conf, rewritten by configutil to the same switches, is
// compared by content), the services answering and auto-restart as before.
func (h *simHost) requireBackedOut(t *testing.T, pre preUpgrade) {
	t.Helper()
	h.requireVersion(t, "5.1")
	diffs, err := backup.CompareTree(context.Background(), h.w.ServerRoot(), pre.manifest, backoutIgnore(h))
	if err != nil {
		t.Fatal(err)
	}
	lcRel, _ := filepath.Rel(h.w.ServerRoot(), h.w.LocalConf())
	for _, d := range diffs {
		if d.Kind == "changed" && strings.HasPrefix(d.Detail, "mtime ") {
			if fi, err := os.Stat(filepath.Join(h.w.ServerRoot(), d.Path)); err == nil && fi.IsDir() || d.Path == lcRel {
				continue
			}
		}
		t.Errorf("server root after backout: %s", d)
	}
	if lc, _ := os.ReadFile(h.w.LocalConf()); !bytes.Equal(lc, pre.localConf) {
		t.Errorf("local.conf after backout differs from before the upgrade:\n%s", lc)
	}
	if got := h.switches(t); !mapsEqual(got, pre.switches) {
		t.Errorf("auto-restart switches after backout %v, before the upgrade %v", got, pre.switches)
	}
	h.requirePortsAnswer(t)
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if bv, ok := b[k]; !ok || bv != v {
			return false
		}
	}
	return true
}

// TestBackoutAfterEveryStepRestoresThePreUpgradeHost stops the upgrade after
// each step k of the runbook (as `plan --output json` lists it) and backs it
// out, on one host: a completed backout starts a new journal epoch, so the
// next `upgrade --until` begins from scratch. After every backout the host is
// the pre-upgrade host.
func TestBackoutAfterEveryStepRestoresThePreUpgradeHost(t *testing.T) {
	t.Parallel()
	requireTools(t)
	bin := buildBinary(t)
	h := upHost(t, bin, hostOptions{})
	pre := h.snapshot(t)
	for _, id := range h.stepIDs(t) {
		if out, code := run(t, h.bin, "upgrade", "--answers", h.inf, "--yes", "--until", id); code != 0 {
			t.Fatalf("upgrade --until %s exit %d:\n%s", id, code, out)
		}
		out, code := run(t, h.bin, "backout", "--answers", h.inf, "--yes")
		if code != 0 {
			t.Fatalf("backout after %s exit %d:\n%s", id, code, out)
		}
		h.requireBackedOut(t, pre)
		if t.Failed() {
			t.Fatalf("after upgrade --until %s and backout (above)", id)
		}
	}
}

// messageIDs maps the Message-ID of every message file below dirs to its path.
func messageIDs(t *testing.T, dirs ...string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, dir := range dirs {
		_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err != nil || !d.Type().IsRegular() {
				return nil
			}
			f, err := os.Open(p)
			if err != nil {
				return nil
			}
			defer f.Close()
			if m, err := mail.ReadMessage(f); err == nil {
				if id := m.Header.Get("Message-Id"); id != "" {
					out[id] = p
				}
			}
			return nil
		})
	}
	return out
}

func (h *simHost) mailDirs() []string {
	return []string{h.w.QueueDir(), h.w.StorePrimary(), h.w.StorePrimary() + ".mswizard-aside"}
}

// TestBackoutLosesNoMail queues and delivers mail after a full upgrade, then
// backs out: every message is still on the host, in the queue or (delivered
// meanwhile) in the store, found by its Message-ID.
func TestBackoutLosesNoMail(t *testing.T) {
	t.Parallel()
	requireTools(t)
	bin := buildBinary(t)
	h := upHost(t, bin, hostOptions{})
	if out, code := run(t, h.bin, "upgrade", "--answers", h.inf, "--yes"); code != 0 {
		t.Fatalf("upgrade exit %d:\n%s", code, out)
	}
	want := h.injectMail(t, 15, 10, 100)
	time.Sleep(time.Second) // some local mail is delivered before the backout
	if out, code := run(t, h.bin, "backout", "--answers", h.inf, "--yes"); code != 0 {
		t.Fatalf("backout exit %d:\n%s", code, out)
	}
	h.requireVersion(t, "5.1")
	h.requireMail(t, want)
	if n := countFiles(t, h.w.StorePrimary()); n < h.Manifest.StoreFiles {
		t.Errorf("store holds %d files after the backout, the world planted %d", n, h.Manifest.StoreFiles)
	}
}

// TestBackoutSurvivesSIGKILL kills a backout with SIGKILL at random moments;
// the rerun finishes it, and a second backout has nothing to undo.
func TestBackoutSurvivesSIGKILL(t *testing.T) {
	t.Parallel()
	requireTools(t)
	bin := buildBinary(t)
	seed := testSeed(t)
	rng := rand.New(rand.NewPCG(seed, 0x6261636b))
	h := upHost(t, bin, hostOptions{})
	pre := h.snapshot(t)
	span := h.timedUpgrade(t)
	h.killRounds(t, rng, killPoints(rng, span, 3), "backout", "--answers", h.inf, "--yes")
	h.requireBackedOut(t, pre)
	out, code := run(t, h.bin, "backout", "--answers", h.inf, "--yes")
	if code != 0 || !strings.Contains(out, "nothing to undo") {
		t.Fatalf("second backout exit %d:\n%s", code, out)
	}
}

// TestInstallerDiesHalfWayThenBackout: the installer dies after moving the
// configuration into backup.TIMESTAMP (5.1 still installed); the run fails
// naming it; the backout restores the 5.1 host, customizations and all.
func TestInstallerDiesHalfWayThenBackout(t *testing.T) {
	t.Parallel()
	requireTools(t)
	bin := buildBinary(t)
	h := upHost(t, bin, hostOptions{})
	pre := h.snapshot(t)
	if err := sim.SetFault(h.w, installer.FaultDies, "after-move"); err != nil {
		t.Fatal(err)
	}
	out, code := run(t, h.bin, "upgrade", "--answers", h.inf, "--yes")
	if code != 1 || !strings.Contains(out, "upgrade/run-installer") {
		t.Fatalf("upgrade with a dying installer exit %d:\n%s", code, out)
	}
	if bs, _ := filepath.Glob(h.w.BackupGlob()); len(bs) == 0 {
		t.Fatal("the dying installer left no backup.TIMESTAMP")
	}
	h.requireVersion(t, "5.1")
	os.Remove(filepath.Join(h.w.FaultsDir(), installer.FaultDies))
	out, code = run(t, h.bin, "status", "--answers", h.inf)
	if code != 0 || !strings.Contains(out, "upgrade/run-installer") {
		t.Fatalf("status exit %d:\n%s", code, out)
	}
	if out, code := run(t, h.bin, "backout", "--answers", h.inf, "--yes"); code != 0 {
		t.Fatalf("backout exit %d:\n%s", code, out)
	}
	h.requireBackedOut(t, pre)
	if bs, _ := filepath.Glob(h.w.BackupGlob()); len(bs) != 0 {
		t.Errorf("backup.TIMESTAMP left after the backout: %v", bs)
	}
}

// TestClusterRegimesUpgradeAndBackoutInTheDocumentedOrder upgrades and backs
// out Veritas and Sun Cluster 2.2 hosts: the cluster stand-ins receive the
// documented command lines in order, and no whole-server stop-msg ever ran.
func TestClusterRegimesUpgradeAndBackoutInTheDocumentedOrder(t *testing.T) {
	t.Parallel()
	requireTools(t)
	bin := buildBinary(t)
	for _, tc := range []struct {
		regime string
		keys   []string
		want   [][]string // upgrade
		undo   [][]string // backout: the upgrade's commands reversed
	}{
		{"veritas", []string{"ClusterResource = " + sim.VCSResource, "ClusterGroup = " + sim.VCSGroup, "ClusterSystem = budgie",
			"IPResource = logical_IP", "MountResource = mountshared"}, [][]string{
			// upgrade: pre
			{"hares", "-offline", "mail", "-sys", "budgie"},
			{"hagrp", "-offline", "iMS5", "-sys", "budgie"},
			{"hares", "-modify", "mail", "Enabled", "0"},
			{"hares", "-unlink", "mail", "logical_IP"},
			{"hares", "-unlink", "mail", "mountshared"},
			{"hagrp", "-online", "iMS5", "-sys", "budgie"},
			// upgrade: post
			{"hares", "-link", "mail", "logical_IP"},
			{"hares", "-link", "mail", "mountshared"},
			{"hares", "-modify", "mail", "Enabled", "1"},
			{"hares", "-online", "mail", "-sys", "budgie"},
		}, [][]string{
			{"hares", "-offline", "mail", "-sys", "budgie"},
			{"hares", "-modify", "mail", "Enabled", "0"},
			{"hares", "-unlink", "mail", "mountshared"},
			{"hares", "-unlink", "mail", "logical_IP"},
			{"hares", "-link", "mail", "mountshared"},
			{"hares", "-link", "mail", "logical_IP"},
			{"hares", "-modify", "mail", "Enabled", "1"},
			{"hares", "-online", "mail", "-sys", "budgie"},
		}},
		{"sc3", []string{"ClusterResource = " + sim.SC3Resource, "ClusterGroup = " + sim.SC3Group}, [][]string{
			{"scswitch", "-n", "-M", "-j", "ims-rs"}, {"scswitch", "-n", "-j", "ims-rs"}, // pre
			{"scswitch", "-e", "-j", "ims-rs"}, {"scswitch", "-e", "-M", "-j", "ims-rs"}, // post
		}, [][]string{
			{"scswitch", "-n", "-M", "-j", "ims-rs"}, {"scswitch", "-n", "-j", "ims-rs"}, // undo post
			{"scswitch", "-e", "-j", "ims-rs"}, {"scswitch", "-e", "-M", "-j", "ims-rs"}, // undo pre
		}},
		{"sc2.2", nil, [][]string{
			{"hareg", "-n", "iMS50"}, {"hareg", "-n", "iMS50"}, {"hareg", "-u", "iMS50"}, // pre
			{"hareg", "-r", "iMS50", "-h", "budgie.siroe.com"}, {"hareg", "-y", "iMS50"}, // post
		}, [][]string{
			{"hareg", "-n", "iMS50"}, {"hareg", "-n", "iMS50"}, {"hareg", "-u", "iMS50"}, // undo post
			{"hareg", "-r", "iMS50", "-h", "budgie.siroe.com"}, {"hareg", "-y", "iMS50"}, // undo pre
		}},
	} {
		t.Run(tc.regime, func(t *testing.T) {
			h := upHost(t, bin, hostOptions{regime: tc.regime})
			keys := append([]string{"Regime = " + tc.regime, "ClusterBin = " + h.w.BinDir()}, tc.keys...)
			h = rewriteAnswers(t, h, keys)
			if out, code := run(t, h.bin, "upgrade", "--answers", h.inf, "--yes"); code != 0 {
				t.Fatalf("upgrade exit %d:\n%s", code, out)
			}
			h.requireVersion(t, "5.2")
			upgradeCmds := clusterCmds(t, h)
			if !slices.EqualFunc(upgradeCmds, tc.want, slices.Equal[[]string]) {
				t.Errorf("upgrade cluster commands =\n%q\nwant\n%q", upgradeCmds, tc.want)
			}
			if out, code := run(t, h.bin, "backout", "--answers", h.inf, "--yes"); code != 0 {
				t.Fatalf("backout exit %d:\n%s", code, out)
			}
			h.requireVersion(t, "5.1")
			all := clusterCmds(t, h)
			if undo := all[len(upgradeCmds):]; !slices.EqualFunc(undo, tc.undo, slices.Equal[[]string]) {
				t.Errorf("backout cluster commands =\n%q\nwant\n%q", undo, tc.undo)
			}
			h.requirePortsAnswer(t)
			recs, err := journal.Read(h.w.StateDir())
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range recs {
				if r.Summary == h.w.StopMsg() || r.Summary == h.w.StartMsg() {
					t.Errorf("a whole-server %q ran under %s (%s)", r.Summary, tc.regime, r.Kind)
				}
			}
		})
	}
}

// rewriteAnswers puts the [Wizard] lines a host's answers lack into them (an
// HA world's answers already name its cluster objects).
func rewriteAnswers(t *testing.T, h *simHost, keys []string) *simHost {
	t.Helper()
	b, err := os.ReadFile(h.inf)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	for _, k := range keys {
		if v, ok := strings.CutPrefix(k, "Regime = "); ok {
			text = strings.Replace(text, "Regime = plain", "Regime = "+v, 1)
			continue
		}
		name, _, _ := strings.Cut(k, " = ")
		if strings.Contains(text, "\n"+name+" = ") {
			continue // the world's answers name it already
		}
		text += k + "\n"
	}
	if err := os.WriteFile(h.inf, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return h
}

// clusterCmds are the stand-ins' command lines without the bare state queries.
func clusterCmds(t *testing.T, h *simHost) [][]string {
	t.Helper()
	got, err := sim.ClusterCommands(h.w)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]string
	for _, g := range got {
		if len(g) > 1 {
			out = append(out, g)
		}
	}
	return out
}

// injectMail queues mail on a channel that cannot deliver (tcp_local, held by
// the stuck-queue knob) and on the local one, and delivers some into the store,
// as mail arriving after the upgrade would; it returns the messages by
// Message-ID. The job controller is held meanwhile, so every file is read
// before it can be delivered; local mail then flows again.
func (h *simHost) injectMail(t *testing.T, queued, delivered int, seed int64) map[string]string {
	t.Helper()
	if err := sim.SetFault(h.w, sim.FaultStuckQueue, "tcp_local"); err != nil {
		t.Fatal(err)
	}
	if out, code := run(t, h.w.IMSimta(), "stop", "job_controller"); code != 0 {
		t.Fatalf("imsimta stop job_controller exit %d:\n%s", code, out)
	}
	var paths []string
	for i, ch := range []string{"ims-ms", "tcp_local"} {
		ps, err := world.InjectMessages(h.w, ch, queued, seed+int64(i))
		if err != nil {
			t.Fatal(err)
		}
		paths = append(paths, ps...)
	}
	ps, err := world.DeliverToStore(h.w, h.Manifest.Users[0], delivered)
	if err != nil {
		t.Fatal(err)
	}
	paths = append(paths, ps...)
	want := map[string]string{}
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		m, err := mail.ReadMessage(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		want[m.Header.Get("Message-Id")] = p
	}
	if out, code := run(t, h.w.IMSimta(), "start", "job_controller"); code != 0 {
		t.Fatalf("imsimta start job_controller exit %d:\n%s", code, out)
	}
	return want
}

// requireMail checks every message of want is in the queue or the store.
func (h *simHost) requireMail(t *testing.T, want map[string]string) {
	t.Helper()
	have := messageIDs(t, h.mailDirs()...)
	for id, p := range want {
		if _, ok := have[id]; !ok {
			t.Errorf("message %s (%s) lost in the backout", id, p)
		}
	}
}
