package service

import (
	"mswizard/wizard"

	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Component is a server the appendix's backout stops and starts.
type Component string

// The components of the backout (seed 003, バックアウト手順).
const (
	DelegatedAdmin Component = "delegated-admin" // iPlanet Delegated Administrator
	WebServer      Component = "web"             // iPlanet Web Server
	Messaging      Component = "messaging"
	Directory      Component = "directory"
	Administration Component = "admin" // Administration Server
)

// appendixStopOrder is the appendix's strict stop order (backout step 1):
// Delegated Administrator (if installed), the Web Server (if installed), the
// Messaging Server, the Directory Server, the Administration Server; the start
// order (backout step 5) is its reverse. Every service step's undo is placed by
// it (its BackoutKey's rank), so the journal decides what a backout stops and
// starts and this list alone decides in which order.
var appendixStopOrder = []Component{DelegatedAdmin, WebServer, Messaging, Directory, Administration}

// stopRank is a component's place in the appendix's stop order, from 1.
func stopRank(c Component) int { return slices.Index(appendixStopOrder, c) + 1 }

// startRank is its place in the start order, from 1.
func startRank(c Component) int { return len(appendixStopOrder) + 1 - stopRank(c) }

// Name is how the appendix names the component.
func (c Component) Name() string {
	switch c {
	case DelegatedAdmin:
		return "iPlanet Delegated Administrator"
	case WebServer:
		return "iPlanet Web Server"
	case Messaging:
		return "Messaging Server"
	case Directory:
		return "Directory Server"
	case Administration:
		return "Administration Server"
	}
	return string(c)
}

// Presence is what a host has of one component: whether it is installed, the
// units that stop and start it, and how that was told (or why it is skipped).
type Presence struct {
	Component Component `json:"component"`
	Installed bool      `json:"installed"`
	Units     []string  `json:"units,omitempty"`
	Why       string    `json:"why"`
}

// Detect reads from the host and the answers which components of the
// appendix's procedure are there, in its stop order:
//   - Delegated Administrator: DelegatedAdminRoot holds its
//     nda/classes/netscape/nda/servlet/resource.properties (iPlanet Delegated
//     Administrator for Messaging and Collaboration 1.2 Installation and
//     Administration Guide, ch. 3) and DelegatedAdminInstance names the web
//     server instance its servlets run in (docs/host-facts.md F-DA-001,
//     F-DA-002);
//   - the Web Server: the https-* instances of the server root other than the
//     Administration Server's https-admserv, and those of WebServerRoot other
//     than Delegated Administrator's;
//   - the Messaging Server: always;
//   - the Directory Server: an instance inside the server root
//     (SERVER-ROOT/slapd-*, appendix backup step 3); one elsewhere is not this
//     procedure's to stop;
//   - the Administration Server: SERVER-ROOT/stop-admin or its adm.conf.
func (c Config) Detect() []Presence {
	var out []Presence
	for _, comp := range appendixStopOrder {
		p := Presence{Component: comp}
		switch comp {
		case DelegatedAdmin:
			p.Installed, p.Units, p.Why = c.detectDA()
		case WebServer:
			p.Units = c.webServerUnits()
			p.Installed = len(p.Units) > 0
			p.Why = "no web server instance besides the Administration Server's https-admserv"
			if c.WebServerRoot != "" {
				p.Why += " in " + c.Host.ServerRoot() + " or WebServerRoot " + c.WebServerRoot
			} else {
				p.Why += " in " + c.Host.ServerRoot() + " (WebServerRoot unset)"
			}
			if p.Installed {
				p.Why = strings.Join(p.Units, ", ")
			}
		case Messaging:
			p.Installed, p.Units, p.Why = true, []string{"msg-" + c.Host.Instance}, c.Host.MsgDir()
		case Directory:
			p.Installed, p.Units, p.Why = c.detectDirectory()
		case Administration:
			p.Installed = exists(c.Host.StopAdmin()) || exists(c.Host.AdmConf())
			p.Why = "no " + c.Host.StopAdmin() + " and no " + c.Host.AdmConf()
			if p.Installed {
				p.Units, p.Why = []string{AdminUnit}, c.Host.AdminDir()
			}
		}
		out = append(out, p)
	}
	return out
}

// daResource is the file Delegated Administrator's installation leaves in its
// root (its guide, ch. 3: "DelegatedAdmin_root/nda/classes/netscape/nda/servlet/").
func daResource(root string) string {
	return filepath.Join(root, "nda", "classes", "netscape", "nda", "servlet", "resource.properties")
}

func (c Config) detectDA() (bool, []string, string) {
	if c.DelegatedAdminRoot == "" {
		return false, nil, "not installed (DelegatedAdminRoot unset)"
	}
	if !exists(daResource(c.DelegatedAdminRoot)) {
		return false, nil, "not installed: no " + daResource(c.DelegatedAdminRoot)
	}
	if c.DelegatedAdminInstance == "" || c.WebServerRoot == "" {
		return false, nil, "installed in " + c.DelegatedAdminRoot + ", but DelegatedAdminInstance and WebServerRoot do not name the web server instance it runs in"
	}
	dir := filepath.Join(c.WebServerRoot, c.DelegatedAdminInstance)
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return false, nil, "installed in " + c.DelegatedAdminRoot + ", but its web server instance " + dir + " does not exist"
	}
	return true, []string{c.DelegatedAdminInstance}, fmt.Sprintf("%s, running in %s", c.DelegatedAdminRoot, dir)
}

// webServerUnits are the Web Server's instances: the server root's other than
// https-admserv (stop/web's), then WebServerRoot's other than Delegated
// Administrator's (stop/webserver-root's).
func (c Config) webServerUnits() []string {
	var out []string
	for _, inst := range webUnits(c.Host) {
		if inst != "https-admserv" {
			out = append(out, inst)
		}
	}
	return append(out, c.webRootUnits()...)
}

func (c Config) detectDirectory() (bool, []string, string) {
	matches, _ := filepath.Glob(filepath.Join(c.Host.ServerRoot(), "slapd-*"))
	var units []string
	for _, m := range matches {
		if fi, err := os.Stat(m); err == nil && fi.IsDir() && !strings.HasSuffix(m, ".bak") {
			units = append(units, filepath.Base(m))
		}
	}
	if len(units) == 0 {
		return false, nil, "no instance in the server root (" + filepath.Join(c.Host.ServerRoot(), "slapd-*") + "); a directory elsewhere is left running"
	}
	return true, units, strings.Join(units, ", ")
}

// RenderProcedure writes the appendix's order as the plan and `backout
// --dry-run` show it: each component in the stop order, with what stops it
// or why it is skipped, then the start order.
func RenderProcedure(ps []Presence) string {
	var b strings.Builder
	b.WriteString("The appendix's backout order (iPlanet Messaging Server 5.2 Installation Guide, Appendix C): stop strictly in this order, start in the reverse:\n")
	line := func(n int, p Presence) {
		if p.Installed {
			fmt.Fprintf(&b, "  %d. %s: %s\n", n, p.Component.Name(), p.Why)
			return
		}
		fmt.Fprintf(&b, "  %d. %s: skipped, %s\n", n, p.Component.Name(), p.Why)
	}
	b.WriteString(" stop:\n")
	for i, p := range ps {
		line(i+1, p)
	}
	b.WriteString(" start:\n")
	for i := len(ps) - 1; i >= 0; i-- {
		line(len(ps)-i, ps[i])
	}
	return b.String()
}

// backoutKey: stop/auto-restart's undo puts the switches back and starts
// what they enable (the 6.x watcher): part of the Messaging Server's start,
// so it takes the Messaging Server's place in the start order — after the
// Administration Server and before the web servers and Delegated
// Administrator (without a place it would run after them all).
func (s *autoRestartOff) backoutKey() wizard.BackoutKey {
	return wizard.BackoutKey{Stage: wizard.BackoutStart, Rank: startRank(Messaging)}
}

// backoutKey: post/auto-restart's undo turns the cluster's fault monitor off
// and stops the watcher it started — the restarters, not a component of the
// appendix's order: before the first of the procedure's stops (rank 0), as
// stop/auto-restart comes before the upgrade's stops, or the monitor restarts
// what the backout stops (seed 004: hareg -n before administrative work).
func (s *autoRestartOn) backoutKey() wizard.BackoutKey {
	return wizard.BackoutKey{Stage: wizard.BackoutStop, Rank: 0}
}
