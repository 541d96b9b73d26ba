package service

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"mswizard/fixtures/layout"
	"mswizard/wizard"
)

// componentsHost is a server root with https-admserv and https-HOST, a web
// server root with https-www and Delegated Administrator's https-da, and
// Delegated Administrator's install directory.
func componentsHost(t *testing.T) Config {
	t.Helper()
	dir := t.TempDir()
	w := layout.Default(dir)
	web := filepath.Join(dir, "webserver-root")
	da := filepath.Join(dir, "nda")
	for _, d := range []string{w.WebDir("https-admserv"), w.WebDir("https-" + w.Host),
		filepath.Join(web, "https-www"), filepath.Join(web, "https-da"), filepath.Dir(daResource(da))} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeFiles(t, map[string]string{daResource(da): "NDABasicAuth-uidrespw=auth\n", w.StopAdmin(): "#!/bin/sh\n"})
	return Config{Host: w.Layout(), WebServerRoot: web, DelegatedAdminRoot: da, DelegatedAdminInstance: "https-da"}
}

// keyOf is the backout key of a step of the service part.
func keyOf(t *testing.T, c Config, id string) wizard.BackoutKey {
	t.Helper()
	for _, s := range append(PreUpgrade(c), PostUpgrade(c)...) {
		if s.ID() == id {
			return wizard.Describe(s).Backout
		}
	}
	t.Fatalf("no step %s", id)
	return wizard.BackoutKey{}
}

// TestUndosArePlacedInTheAppendixsStrictOrder: each service step's undo sits in
// the backout's stop or start stage at its component's place in the appendix's
// order (Delegated Administrator, Web Server, Messaging Server, Directory
// Server, Administration Server; the start order reversed). The engine sorts
// the journal's undos by these keys (wizard/backoutorder.go), so they alone
// decide the order.
func TestUndosArePlacedInTheAppendixsStrictOrder(t *testing.T) {
	c := componentsHost(t)
	for _, tc := range []struct {
		rule          string
		first, second string
		stage         wizard.BackoutStage
		// tie: the same place, so the engine takes the newer first; first
		// runs after second in the runbook.
		tie bool
	}{
		{"Delegated Administrator stops before the web server in its own root", IDStartDelegatedAdmin, IDStartWebServerRoot, wizard.BackoutStop, false},
		{"the web server in its own root stops before post/start's web, messaging and admin stops", IDStartWebServerRoot, IDStart, wizard.BackoutStop, true},
		{"the administration server starts first", IDStopAdmin, IDStopMessaging, wizard.BackoutStart, false},
		{"the dispatcher starts with the messaging server, before the web servers", IDStopDispatcher, IDStopWeb, wizard.BackoutStart, false},
		{"the messaging server starts before the web server in its own root", IDStopMessaging, IDStopWebServerRoot, wizard.BackoutStart, false},
		{"the web server in its own root starts before Delegated Administrator", IDStopWebServerRoot, IDStopDelegatedAdmin, wizard.BackoutStart, false},
		{"the server root's web instances start before Delegated Administrator", IDStopWeb, IDStopDelegatedAdmin, wizard.BackoutStart, false},
		{"the restarters (fault monitor, watcher) go off before Delegated Administrator stops", IDAutoRestartOn, IDStartDelegatedAdmin, wizard.BackoutStop, false},
		{"auto-restart comes back with the messaging server, before the web servers start", IDAutoRestartOff, IDStopWeb, wizard.BackoutStart, false},
	} {
		t.Run(tc.rule, func(t *testing.T) {
			a, b := keyOf(t, c, tc.first), keyOf(t, c, tc.second)
			if a.Stage != tc.stage || b.Stage != tc.stage {
				t.Fatalf("%s is %q, %s is %q; both belong to stage %q", tc.first, a, tc.second, b, tc.stage)
			}
			if tc.tie {
				if a.Rank != b.Rank || !runsAfter(c, tc.first, tc.second) {
					t.Errorf("%s (%s) is not at %s's place (%s) and applied after it", tc.first, a, tc.second, b)
				}
				return
			}
			if a.Rank >= b.Rank {
				t.Errorf("%s (%s) does not come before %s (%s)", tc.first, a, tc.second, b)
			}
		})
	}
	// Equal places: the web instances of both roots are one component.
	if a, b := keyOf(t, c, IDStopWeb), keyOf(t, c, IDStopWebServerRoot); a != b {
		t.Errorf("stop/web %s and stop/webserver-root %s are the same component (the Web Server)", a, b)
	}
}

// runsAfter: step a comes after step b in the service part.
func runsAfter(c Config, a, b string) bool {
	var ids []string
	for _, s := range append(PreUpgrade(c), PostUpgrade(c)...) {
		ids = append(ids, s.ID())
	}
	return slices.Index(ids, a) > slices.Index(ids, b)
}

func TestTheStartOrderIsTheStopOrderReversed(t *testing.T) {
	for _, comp := range appendixStopOrder {
		if got, want := startRank(comp), len(appendixStopOrder)+1-stopRank(comp); got != want {
			t.Errorf("%s: start rank %d, want %d", comp, got, want)
		}
	}
	if stopRank(DelegatedAdmin) != 1 || startRank(DelegatedAdmin) != len(appendixStopOrder) {
		t.Error("Delegated Administrator must stop first and start last")
	}
	if stopRank(Administration) != len(appendixStopOrder) || startRank(Administration) != 1 {
		t.Error("the Administration Server must stop last and start first")
	}
}

func TestDetectReadsTheHostAndTheAnswers(t *testing.T) {
	present := func(ps []Presence) map[Component]Presence {
		m := map[Component]Presence{}
		for _, p := range ps {
			m[p.Component] = p
		}
		return m
	}
	for _, tc := range []struct {
		rule   string
		change func(c *Config)
		comp   Component
		want   bool
		units  []string
		why    string
	}{
		{"Delegated Administrator is installed when its resource.properties is in DelegatedAdminRoot", nil, DelegatedAdmin, true, []string{"https-da"}, ""},
		{"DelegatedAdminRoot without resource.properties is not installed, and says so", func(c *Config) { c.DelegatedAdminRoot = filepath.Join(filepath.Dir(c.DelegatedAdminRoot), "none") }, DelegatedAdmin, false, nil, "no "},
		{"no DelegatedAdminRoot: not installed", func(c *Config) { c.DelegatedAdminRoot = "" }, DelegatedAdmin, false, nil, "DelegatedAdminRoot unset"},
		{"Delegated Administrator's instance must exist in WebServerRoot", func(c *Config) { c.DelegatedAdminInstance = "https-gone" }, DelegatedAdmin, false, nil, "does not exist"},
		{"https-admserv is the Administration Server's; Delegated Administrator's instance is not the Web Server", nil, WebServer, true, []string{"https-budgie.siroe.com", "https-www"}, ""},
		{"without WebServerRoot only the server root's instances are the Web Server", func(c *Config) { c.WebServerRoot, c.DelegatedAdminRoot = "", "" }, WebServer, true, []string{"https-budgie.siroe.com"}, ""},
		{"no slapd-* in the server root: no Directory Server to stop", nil, Directory, false, nil, "a directory elsewhere is left running"},
		{"the Messaging Server is always there", nil, Messaging, true, []string{"msg-budgie"}, ""},
		{"stop-admin makes an Administration Server", nil, Administration, true, []string{AdminUnit}, ""},
	} {
		t.Run(tc.rule, func(t *testing.T) {
			c := componentsHost(t)
			if tc.change != nil {
				tc.change(&c)
			}
			ps := c.Detect()
			var order []Component
			for _, p := range ps {
				order = append(order, p.Component)
			}
			if !slices.Equal(order, appendixStopOrder) {
				t.Errorf("Detect lists %v, not the appendix's stop order %v", order, appendixStopOrder)
			}
			p := present(ps)[tc.comp]
			if p.Installed != tc.want || !slices.Equal(p.Units, tc.units) {
				t.Errorf("%s: installed %v units %v (%s); want %v %v", tc.comp, p.Installed, p.Units, p.Why, tc.want, tc.units)
			}
			if tc.why != "" && !strings.Contains(p.Why, tc.why) {
				t.Errorf("%s: why %q lacks %q", tc.comp, p.Why, tc.why)
			}
		})
	}
}

func TestAComponentNotInstalledIsSkippedAndSaysWhy(t *testing.T) {
	c := Config{Host: layout.Default(t.TempDir()).Layout()}
	env := &wizard.Env{}
	for _, s := range []wizard.Step{StopDelegatedAdmin(c), StopWebServerRoot(c), StartWebServerRoot(c), StartDelegatedAdmin(c)} {
		done, why, err := s.Check(context.Background(), env)
		if err != nil || !done || !strings.Contains(why, "skipped") || !strings.Contains(why, "unset") {
			t.Errorf("%s: Check = %v, %q, %v; want done, skipped with its reason", s.ID(), done, why, err)
		}
	}
}

func TestTheProcedureNamesEverySkippedComponent(t *testing.T) {
	c := componentsHost(t)
	c.DelegatedAdminRoot = ""
	got := RenderProcedure(c.Detect())
	for _, want := range []string{
		"1. iPlanet Delegated Administrator: skipped, not installed (DelegatedAdminRoot unset)",
		"2. iPlanet Web Server: https-budgie.siroe.com, https-www",
		"4. Directory Server: skipped, no instance in the server root",
		"1. Administration Server: ",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("procedure lacks %q:\n%s", want, got)
		}
	}
	if strings.Index(got, " start:") > strings.Index(got, "1. Administration Server") {
		t.Errorf("the start order does not begin with the Administration Server:\n%s", got)
	}
}
