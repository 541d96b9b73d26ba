// Package steps knows the product: it turns an answers file into the upgrade
// runbook of iPlanet Messaging Server 5.2 Installation Guide, Appendix C (seed 003)
// as an ordered, visible list of wizard steps. The order is the spec.
package steps

import (
	"context"

	"github.com/go-ldap/ldap/v3"

	"mswizard/steps/host"
	"mswizard/wizard/answers"
)

// Config is everything the runbook needs, derived from the answers file.
type Config struct {
	Answers   *answers.Answers
	Host      host.Layout // the host's paths (server root, msg-INSTANCE, ...)
	StateDir  string
	BackupDir string
	// NSServerCfg is the node's list of server roots (host-facts:
	// F-LAYOUT-002): /etc/nsserver.cfg on a real host, the world's own file
	// in a simulated one ([Wizard] NSServerCfg).
	NSServerCfg string
	// Directory opens the user directory the answers name; nil when none is
	// configured. The engine's Env carries no directory: the steps that need
	// one get it here.
	Directory Directory

	// processGroups reads the process table with process groups for the
	// installer guard; nil: the host's own (host.ProcessGroups).
	processGroups func(context.Context) ([]host.GroupedProc, error)

	// sized keeps what preflight/disk-space measured of a tree (entries,
	// bytes), by path: the archive of it shows progress against it.
	sized map[string][2]int64
}

// Directory opens an authenticated connection to the user directory, typed as
// go-ldap's ldap.Client; steps assert no more of it than that.
type Directory interface {
	DialLDAP(ctx context.Context) (ldap.Client, error)
}

// NewConfig derives the runbook's configuration from validated answers; stateDir
// overrides the answers' StateDir when not empty.
func NewConfig(a *answers.Answers, stateDir string) *Config {
	if stateDir == "" {
		stateDir = a.StateDir
	}
	return &Config{
		Answers:   a,
		Host:      host.Layout{Root: a.ServerRoot, Instance: a.Instance, Host: a.FullMachineName},
		StateDir:  stateDir,
		BackupDir: a.BackupDir,

		NSServerCfg: a.NSServerCfg,
	}
}
