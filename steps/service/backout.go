package service

import (
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

// Installed says which optional components a host has; messaging and the
// Administration Server always are.
type Installed struct {
	DelegatedAdmin, Web, Directory bool
}

// appendixStopOrder is the appendix's strict stop order; the start order is
// its reverse. The service steps' undos are placed by it (BackoutKey).
var appendixStopOrder = []Component{DelegatedAdmin, WebServer, Messaging, Directory, Administration}

// stopRank is a component's place in the appendix's stop order, from 1.
func stopRank(c Component) int { return slices.Index(appendixStopOrder, c) + 1 }

// startRank is its place in the start order, from 1.
func startRank(c Component) int { return len(appendixStopOrder) + 1 - stopRank(c) }

// BackoutOrder is the appendix's strict order (seed 003, backout steps 1 and 5):
// stop Delegated Administrator, Web Server, Messaging Server, Directory Server,
// Administration Server; start Administration Server, Directory Server,
// Messaging Server, Web Server, Delegated Administrator — only those installed.
func BackoutOrder(in Installed) (stop, start []Component) {
	present := map[Component]bool{
		DelegatedAdmin: in.DelegatedAdmin, WebServer: in.Web, Messaging: true,
		Directory: in.Directory, Administration: true,
	}
	for _, c := range appendixStopOrder {
		if present[c] {
			stop = append(stop, c)
		}
	}
	for i := len(stop) - 1; i >= 0; i-- {
		start = append(start, stop[i])
	}
	return stop, start
}

// DetectInstalled reads from the host which optional components are there: a web
// server instance other than the Administration Server's https-admserv, a
// Directory Server instance (SERVER-ROOT/slapd-*); Delegated Administrator comes
// from the answers (Config.DelegatedAdmin).
func DetectInstalled(c Config) Installed {
	in := Installed{DelegatedAdmin: c.DelegatedAdmin}
	for _, inst := range webUnits(c.Host) {
		if inst != "https-admserv" {
			in.Web = true
		}
	}
	matches, _ := filepath.Glob(filepath.Join(c.Host.ServerRoot(), "slapd-*"))
	for _, m := range matches {
		if fi, err := os.Stat(m); err == nil && fi.IsDir() && !strings.HasSuffix(m, ".bak") {
			in.Directory = true
		}
	}
	return in
}
