package service

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"

	"mswizard/steps/host"
	"mswizard/wizard"
)

// Regime names what controls the Messaging Server processes of a host.
type Regime string

// The regimes this package drives.
const (
	RegimePlain       Regime = "plain"       // start-msg/stop-msg and the server-root scripts
	RegimeDaemontools Regime = "daemontools" // svscan/supervise (seed 001)
	RegimeSC22        Regime = "sc2.2"       // Sun Cluster 2.2 data service iMS50 (seeds 003, 004)
	RegimeSC3         Regime = "sc3"         // Sun Cluster 3.x resource (seeds 000, 003)
	RegimeVeritas     Regime = "veritas"     // Veritas Cluster Server (seeds 000, 003)
)

// HA reports whether the regime is a cluster, under which the product refuses a
// whole-server stop-msg (host-facts: F-CMD-007).
func (r Regime) HA() bool {
	d, ok := lookupRegime(r)
	return ok && d.HA()
}

// Cluster names the cluster objects that control the Messaging Server.
type Cluster struct {
	Resource      string   // SC3 resource / Veritas mail resource
	Group         string   // SC3 resource group / Veritas service group ("iMS5")
	System        string   // Veritas system (node) the group runs on
	HaregService  string   // Sun Cluster 2.2 data service, "iMS50" (seed 003)
	LogicalHost   string   // Sun Cluster 2.2 logical host this node must master
	IPResource    string   // Veritas logical_IP resource
	MountResource string   // Veritas mountshared resource
	Nodes         []string // SC3 nodes that need the SUNWscims agent package
	// Bin is the directory of the cluster commands; empty means the regime's
	// standard one (/opt/SUNWcluster/bin, /usr/cluster/bin, /opt/VRTSvcs/bin).
	Bin string
}

// Config says how to control one host.
type Config struct {
	Host    host.Layout
	Regime  Regime
	Cluster Cluster
	// StopTimeout bounds a stop command and then the wait for its processes to be
	// gone; StartTimeout the same for a start and its port to answer.
	StopTimeout, StartTimeout time.Duration
	// Poll is the interval between process and port checks (default 100 ms).
	Poll time.Duration
	// SvcDir names the daemontools service directory of a unit ("dispatcher",
	// "imap", "admin", "https-HOST"); nil, an empty name or a directory without
	// a run file means the unit is not supervised and its scripts control it.
	SvcDir func(unit string) string
	// ServiceDir is the daemontools directory of service directories the
	// answers name (ServiceDir); SvcDir defaults to ServiceDir/UNIT.
	ServiceDir string
	// SvcBin is the directory of svc and svstat; empty means $PATH.
	SvcBin string
	// Evidence reads the process table and the listening sockets; the zero
	// value means the system's own (host.SystemEvidence).
	Evidence host.Evidence
	// WebServerRoot is the appendix's webserver-root when the iPlanet Web
	// Server has a root of its own; "" when none (the https-* instances of the
	// server root are stop/web's). DelegatedAdminRoot is Delegated
	// Administrator's install directory and DelegatedAdminInstance the
	// WebServerRoot instance its servlets run in (components.go).
	WebServerRoot, DelegatedAdminRoot, DelegatedAdminInstance string

	// DirectoryStop, when set, returns the actions that stop a Directory
	// Server inside the server root, proved down (steps/dsinstance_undo.go).
	// post/start's undo runs them between the Messaging Server's stop and
	// the Administration Server's: the appendix stops the Directory Server
	// before the Administration Server, and one undo stops both.
	DirectoryStop func(ctx context.Context, env *wizard.Env) ([]wizard.Action, error)

	systemDefaulted bool // Cluster.System came from the host name, not the answers
	// Directory opens the user directory (check/directory-up); nil: none is
	// configured.
	Directory interface {
		DialLDAP(ctx context.Context) (ldap.Client, error)
	}
}

// Defaults of Config.
const (
	DefaultStopTimeout  = 2 * time.Minute
	DefaultStartTimeout = 5 * time.Minute
	DefaultPoll         = 100 * time.Millisecond
)

// withDefaults fills the zero fields.
func (c Config) withDefaults() Config {
	if c.Regime == "" {
		c.Regime = RegimePlain
	}
	if c.StopTimeout <= 0 {
		c.StopTimeout = DefaultStopTimeout
	}
	if c.StartTimeout <= 0 {
		c.StartTimeout = DefaultStartTimeout
	}
	if c.Poll <= 0 {
		c.Poll = DefaultPoll
	}
	if c.Evidence.Procs == nil || c.Evidence.Listeners == nil {
		c.Evidence = host.SystemEvidence()
	}
	if c.Cluster.HaregService == "" {
		c.Cluster.HaregService = "iMS50"
	}
	if c.Cluster.LogicalHost == "" {
		c.Cluster.LogicalHost = c.Host.Host
	}
	if c.Cluster.System == "" {
		// VCS names a system by its node name, the host's first label.
		c.Cluster.System, _, _ = strings.Cut(c.Host.Host, ".")
		c.systemDefaulted = true
	}
	if c.Cluster.Bin == "" {
		c.Cluster.Bin = c.driver().DefaultBin()
	}
	if c.SvcDir == nil && c.ServiceDir != "" {
		dir := c.ServiceDir
		c.SvcDir = func(unit string) string { return filepath.Join(dir, unit) }
	}
	return c
}

// Validate reports a configuration the regime cannot work with: what the
// regime needs comes from answers.Regimes, as `answers validate` checks it.
func (c Config) Validate() error {
	c = c.withDefaults()
	if c.Host.Root == "" {
		return fmt.Errorf("service: config: no server root")
	}
	return c.needs()
}
