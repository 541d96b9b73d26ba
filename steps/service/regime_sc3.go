package service

import (
	"context"

	"mswizard/wizard"
)

// regimeSC3: a Sun Cluster 3.x resource (seed 000 table 4-2): `scswitch -n -j
// RESOURCE` stops it, `-e -j` starts it, `-n -M -j` / `-e -M -j` switch its
// fault monitor.
type regimeSC3 struct{}

func (regimeSC3) Name() Regime       { return RegimeSC3 }
func (regimeSC3) HA() bool           { return true }
func (regimeSC3) DefaultBin() string { return "/usr/cluster/bin" }
func (regimeSC3) Tools() []string    { return []string{"scswitch"} }
func (regimeSC3) PerUnit() bool      { return false }

func (regimeSC3) StopMessaging(c Config) (wizard.Command, bool) { return c.sc3().Disable(), true }

func (regimeSC3) StartMessaging(c Config) wizard.Command { return c.sc3().Enable() }

func (regimeSC3) MonitorOff(c Config) (wizard.Command, bool) { return c.sc3().MonitorOff(), true }
func (regimeSC3) MonitorOn(c Config) (wizard.Command, bool)  { return c.sc3().MonitorOn(), true }

// PrepareCheck: nothing before the upgrade; SUNWscims follows it.
func (regimeSC3) PrepareCheck(context.Context, Config, *wizard.Env) (bool, string, error) {
	return true, "Sun Cluster 3: nothing before the upgrade; SUNWscims follows it on each node", nil
}
func (regimeSC3) PreparePlan(Config, *wizard.Env) []wizard.Action { return nil }

// RestoreCheck: nothing for the wizard to do; the SUNWscims package on each
// node, which upgrades the HA agent (seed 003, Sun Cluster 3.x), is the
// operator action post/sc3-agent, confirmed before post/start enables the
// resource again (steps/operator.go).
func (regimeSC3) RestoreCheck(context.Context, Config, *wizard.Env) (bool, string, error) {
	return true, "Sun Cluster 3: the SUNWscims agent on each node is the operator action post/sc3-agent, confirmed before the resource is enabled again", nil
}

func (regimeSC3) RestorePlan(Config, *wizard.Env, string) []wizard.Action { return nil }
