package service

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"mswizard/fixtures/layout"
	"mswizard/wizard"
)

func TestHAProbeFindsClusterTheAnswersDoNotMention(t *testing.T) {
	for _, tc := range []struct {
		name   string
		regime Regime
		files  []string // relative to the world
		local  string
		want   []string // finding IDs
	}{
		{"a plain host without cluster signs passes", RegimePlain, nil, "", nil},
		{"a cluster command in the world's bin inhibits a plain run", RegimePlain, []string{"bin/hareg"}, "", []string{FindHAUnmentioned}},
		{"a Sun Cluster 3 command in the named command directory inhibits a daemontools run", RegimeDaemontools, []string{"bin/scswitch"}, "", []string{FindHAUnmentioned}},
		{"an ha marker next to the instance inhibits", RegimePlain, []string{"server-root/msg-budgie/ha"}, "", []string{FindHAUnmentioned}},
		{"local.ha parameters inhibit", RegimePlain, nil, "local.ha.enable = yes\n", []string{FindHAUnmentioned}},
		{"an HA regime whose command is missing inhibits", RegimeSC3, nil, "", []string{FindHAToolMissing}},
		{"an HA regime with its command passes", RegimeSC22, []string{"bin/hareg"}, "", nil},
		{"veritas needs both hares and hagrp", RegimeVeritas, []string{"bin/hares"}, "", []string{FindHAToolMissing}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := layout.Default(t.TempDir())
			files := map[string]string{w.LocalConf(): tc.local}
			for _, f := range tc.files {
				name, content, _ := strings.Cut(f, "=")
				files[filepath.Join(w.Dir, name)] = content
			}
			writeFiles(t, files)
			c := Config{Host: w.Layout(), Regime: tc.regime, Cluster: Cluster{Bin: w.BinDir(), Resource: "mail", Group: "iMS5",
				System: "budgie", IPResource: "logical_IP", MountResource: "mountshared"}, ServiceDir: "/service"}
			s := HAProbe(c)
			p := wizard.Describe(s).Preflight
			if p == nil {
				t.Fatal("preflight/ha-probe offers no preflight")
			}
			env := (&wizard.Env{Root: filepath.Join(w.Dir, "no-such-root")}).Nop()
			fs, err := p(t.Context(), env)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range fs {
				got = append(got, f.ID)
				if f.Severity != wizard.Inhibitor || f.Remediation == "" {
					t.Errorf("finding %s: severity %s, remediation %q; want an inhibitor with a fix", f.ID, f.Severity, f.Remediation)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("findings = %q, want %q (%v)", got, tc.want, fs)
			}
		})
	}
}

func TestSunCluster22PreflightRequiresTheMasteringHost(t *testing.T) {
	for _, tc := range []struct {
		name     string
		mastered string
		want     []string
	}{
		{"this host masters the logical host", "budgie.siroe.com other-lh", nil},
		{"another host masters it", "other-lh", []string{FindHANotMaster}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := layout.Default(t.TempDir())
			h := &fakeHost{t: t, w: w}
			h.script(filepath.Join(w.BinDir(), "haget"), `[ "$1 $2" = "-f mastered" ] && echo "`+tc.mastered+`"`)
			s := HAPrepare(Config{Host: w.Layout(), Regime: RegimeSC22, Cluster: Cluster{Bin: w.BinDir()}})
			fs, err := wizard.Describe(s).Preflight(t.Context(), (&wizard.Env{}).Nop())
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range fs {
				got = append(got, f.ID)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("findings = %v, want %q", fs, tc.want)
			}
		})
	}
}

func TestMessagingStopIsNeverAWholeServerStopMsgUnderHA(t *testing.T) {
	w := layout.Default("/w")
	for _, r := range []Regime{RegimeSC22, RegimeSC3, RegimeVeritas} {
		c := Config{Host: w.Layout(), Regime: r, Cluster: Cluster{Resource: "mail", Group: "g", System: "s"}}.withDefaults()
		cmd, ok := c.messagingStop()
		if ok && slices.Equal(cmd.Argv(), []string{w.StopMsg()}) {
			t.Errorf("%s: the messaging stop is a plain stop-msg", r)
		}
		if cmd, ok := c.stopCmd("msg", ""); ok && filepath.Base(cmd.Path) == "stop-msg" && len(cmd.Args) == 0 {
			t.Errorf("%s: undo of a start would run a plain stop-msg", r)
		}
	}
}

func TestStepIDsAndOrderArePinned(t *testing.T) {
	c := Config{Host: layout.Default("/w").Layout()}
	var got []string
	for _, s := range append(PreUpgrade(c), PostUpgrade(c)...) {
		got = append(got, s.ID())
	}
	want := []string{"preflight/ha-probe", "stop/auto-restart", "stop/dispatcher", "stop/delegated-admin", "stop/webserver-root",
		"stop/web", "stop/messaging", "stop/admin", "check/directory-up", "ha/prepare", "check/directory-up-after-ha", "post/ha-restore", "post/start",
		"post/auto-restart", "post/start-webserver-root", "post/start-delegated-admin"}
	if !slices.Equal(got, want) {
		t.Errorf("steps = %q, want %q", got, want)
	}
}

func TestBareHaregOutputThatCannotBeReadIsUnknownNeverOff(t *testing.T) {
	for _, tc := range []struct{ name, out, want, err string }{
		{"the service on", "nfs\toff\niMS50\ton\n", "on", ""},
		{"the service off", "iMS50 off\n", "off", ""},
		{"not listed: unregistered", "nfs on\n", "unregistered", ""},
		{"no data service at all: unregistered", "", "unregistered", ""},
		{"a line of another shape: unknown", "Data service iMS50 is ON\n", "", "cannot read"},
		{"a state of another word: unknown", "iMS50 starting\n", "", "cannot read"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseHaregState(tc.out, "iMS50")
			if got != tc.want || (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
				t.Errorf("parseHaregState(%q) = %q, %v; want %q, error %q", tc.out, got, err, tc.want, tc.err)
			}
		})
	}
}
