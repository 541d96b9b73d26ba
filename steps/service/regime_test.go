package service

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"mswizard/steps/host"
	"mswizard/wizard"
	"mswizard/wizard/answers"
)

// One conformance suite, the same cases for every regime (as golang-migrate
// tests every database driver): each implementation is checked against the
// rules every regime must keep.
func TestEveryRegimeKeepsTheRules(t *testing.T) {
	t.Parallel()
	if got, want := regimeNames(), answers.RegimeNames(); !slices.Equal(got, want) {
		t.Fatalf("implemented regimes %v, the answers know %v: the list is written once in answers.Regimes", got, want)
	}
	for _, r := range regimes {
		t.Run(string(r.Name()), func(t *testing.T) {
			t.Parallel()
			full := configFor(r, nil)
			t.Run("a configuration with everything the regime needs is valid", func(t *testing.T) {
				if err := full.Validate(); err != nil {
					t.Errorf("Validate: %v", err)
				}
				if msg := answers.MissingForRegime(string(r.Name()), full.regimeValue); msg != "" {
					t.Errorf("answers: %s", msg)
				}
				if _, probs := answers.Load(answersFor(t, r, ""), answers.LoadOptions{}); probs != nil {
					t.Errorf("answers validate refuses a complete file: %v", probs)
				}
			})
			t.Run("answers validate and the preflight agree on each missing key", func(t *testing.T) {
				for _, k := range answers.RegimeNeeds(string(r.Name())) {
					c := configFor(r, []string{k})
					err := c.Validate()
					inf := answersFor(t, r, k)
					_, probs := answers.Load(inf, answers.LoadOptions{})
					if err == nil || probs == nil {
						t.Errorf("without %s: Validate %v, answers %v; both must refuse", k, err, probs)
						continue
					}
					if !strings.Contains(err.Error(), k) || !strings.Contains(probs.Error(), k) {
						t.Errorf("without %s: Validate %q, answers %q: both must name it", k, err, probs)
					}
				}
			})
			t.Run("a cluster never gets a whole-server stop-msg", func(t *testing.T) {
				cmd, ok := full.messagingStop()
				whole := ok && cmd.Path == full.Host.StopMsg() && len(cmd.Args) == 0
				if r.HA() && whole {
					t.Errorf("%s stops with a plain stop-msg, which the product refuses under HA", r.Name())
				}
				if !r.HA() && !ok {
					t.Errorf("%s has no whole-server stop", r.Name())
				}
			})
			t.Run("the stop and the start carry the configured timeouts", func(t *testing.T) {
				if cmd, ok := full.messagingStop(); ok && cmd.Timeout != full.StopTimeout {
					t.Errorf("stop timeout %v", cmd.Timeout)
				}
				if cmd := full.messagingStart(); cmd.Timeout != full.StartTimeout || cmd.Path == "" {
					t.Errorf("start %v", cmd)
				}
			})
			t.Run("a fault monitor that is switched off can be switched on", func(t *testing.T) {
				_, off := full.monitorOff()
				_, on := full.monitorOn()
				if off != on {
					t.Errorf("monitor off %v, on %v", off, on)
				}
			})
			t.Run("a cluster names its commands and where they live", func(t *testing.T) {
				if r.HA() != (len(r.Tools()) > 0) || r.HA() != (r.DefaultBin() != "") {
					t.Errorf("HA %v, tools %v, default bin %q", r.HA(), r.Tools(), r.DefaultBin())
				}
			})
			t.Run("the regime is found by its name", func(t *testing.T) {
				if d, ok := lookupRegime(r.Name()); !ok || d.Name() != r.Name() || full.driver().Name() != r.Name() {
					t.Errorf("lookup %v %v", d, ok)
				}
			})
			t.Run("on the simulated host: stopped with proof in the receipts, started up, backed out", func(t *testing.T) {
				regimeBehaviour(t, r.Name())
			})
		})
	}
}

func regimeNames() []string {
	var out []string
	for _, r := range regimes {
		out = append(out, string(r.Name()))
	}
	return out
}

// configFor is a configuration of regime r with every key it needs set, but
// those in without.
func configFor(r regime, without []string) Config {
	c := Config{Host: host.Layout{Root: "/srv/server5", Instance: "budgie", Host: "budgie.siroe.com"}, Regime: r.Name(),
		StopTimeout: 7, StartTimeout: 9}
	set := func(k string) bool { return !slices.Contains(without, k) }
	if set("ServiceDir") {
		c.ServiceDir = "/service"
	}
	if set("ClusterResource") {
		c.Cluster.Resource = "ims-rs"
	}
	if set("ClusterGroup") {
		c.Cluster.Group = "ims-rg"
	}
	if set("ClusterSystem") {
		c.Cluster.System = "budgie"
	}
	if set("IPResource") {
		c.Cluster.IPResource = "logical_IP"
	}
	if set("MountResource") {
		c.Cluster.MountResource = "mountshared"
	}
	return c.withDefaults()
}

// answersFor writes an install.inf for regime r with every key it needs but without.
func answersFor(t *testing.T, r regime, without string) string {
	t.Helper()
	dir := t.TempDir()
	pw := filepath.Join(dir, "pw")
	os.WriteFile(pw, []byte("secret\n"), 0o600)
	lines := []string{"[General]", "FullMachineName = budgie.siroe.com", "ServerRoot = /srv/server5",
		"UserDirectoryLdapURL = ldap://127.0.0.1:389/o=siroe.com", "UserDirectoryAdminID = cn=Directory Manager",
		"UserDirectoryAdminPwdFile = " + pw, "[Wizard]", "Instance = budgie", "Installer = /cdrom/setup",
		"StateDir = " + filepath.Join(dir, "state"), "BackupDir = " + filepath.Join(dir, "backup"),
		"Regime = " + string(r.Name())}
	vals := map[string]string{"ServiceDir": "/service", "ClusterResource": "ims-rs", "ClusterGroup": "ims-rg",
		"ClusterSystem": "budgie", "IPResource": "logical_IP", "MountResource": "mountshared"}
	for _, k := range answers.RegimeNeeds(string(r.Name())) {
		if k != without {
			lines = append(lines, k+" = "+vals[k])
		}
	}
	p := filepath.Join(dir, "install.inf")
	if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// regimeBehaviour runs the pre-upgrade stops of a regime against the
// simulated host, then the post-upgrade start, then the backout of both: every
// unit is proved stopped in a stop's receipt (run or not: issue 13 part 3),
// every enabled unit is up after the start by the host's own evidence, and
// the backout leaves the services running as they were.
func regimeBehaviour(t *testing.T, regime Regime) {
	w, c := simWorld(t, regime)
	c = c.withDefaults()
	env := (&wizard.Env{Exec: wizard.OSExecer{}, Now: time.Now, StateDir: t.TempDir()}).Nop()
	ctx := t.Context()
	// The units the stops must prove down: every messaging service, the web
	// instances and the Administration Server.
	want := append(append(c.MessagingServices(ctx), webUnits(c.Host)...), AdminUnit)

	pre := apply(t, env, stepsOf(PreUpgrade(c), IDDirectoryUp, IDDirectoryUpAfterHA)...)
	requirePorts(t, w, false)
	proved := map[string]bool{}
	for _, d := range pre {
		if !strings.HasPrefix(d.s.ID(), "stop/") {
			continue
		}
		for _, r := range d.rs {
			var od opData
			if r.DataInto(&od) != nil || len(od.After) == 0 {
				continue
			}
			if !strings.HasPrefix(r.Note, "proved stopped: ") {
				t.Errorf("%s: %q left evidence but no proof note: %q", d.s.ID(), r.Summary, r.Note)
			}
			for _, st := range od.After {
				if st.down() {
					proved[st.Unit] = true
				}
			}
		}
	}
	for _, u := range want {
		if !proved[u] {
			t.Errorf("%s: no stop receipt proves %s stopped (proved: %v)", regime, u, sortedKeys(proved))
		}
	}

	post := apply(t, env, PostUpgrade(c)...)
	var skip []string
	if regime == RegimeSC3 || regime == RegimeVeritas {
		// Outside post/auto-restart nothing starts the watcher under a
		// cluster that runs the services as one resource (see
		// TestSimHARegimesUseTheClusterAndNeverAPlainStopMsg).
		skip = append(skip, "watcher")
	}
	requirePorts(t, w, true, skip...)
	conf, err := ReadConfig(c.Host)
	if err != nil {
		t.Fatal(err)
	}
	us, err := c.units(want...)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range us {
		if slices.Contains(skip, u.Name) || (isMessaging(u.Name) && !conf.Enabled(u.Name)) {
			continue
		}
		if st, _ := c.observe(ctx, u); !st.up() {
			t.Errorf("%s: after post-upgrade %s is not up: %s", regime, u.Name, st.describe())
		}
	}

	backout(t, env, append(pre, post...))
	if regime == RegimeDaemontools {
		skip = append(skip, "watcher") // see TestSimDaemontoolsKeepsServicesDownThroughSupervise
	}
	requirePorts(t, w, true, skip...)
}
