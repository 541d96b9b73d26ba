package service

import "mswizard/wizard"

// regimeVeritas: Veritas Cluster Server (seed 000 table 4-3, seed 003):
// `hares -offline RESOURCE -sys SYSTEM` stops the mail resource, `-online`
// starts it; VCS has no separate fault monitor switch here.
type regimeVeritas struct{}

func (regimeVeritas) Name() Regime       { return RegimeVeritas }
func (regimeVeritas) HA() bool           { return true }
func (regimeVeritas) DefaultBin() string { return "/opt/VRTSvcs/bin" }
func (regimeVeritas) Tools() []string    { return []string{"hares", "hagrp"} }
func (regimeVeritas) PerUnit() bool      { return false }

func (regimeVeritas) StopMessaging(c Config) (wizard.Command, bool) {
	return c.vcs().ResOffline(c.Cluster.Resource), true
}

func (regimeVeritas) StartMessaging(c Config) wizard.Command {
	return c.vcs().ResOnline(c.Cluster.Resource)
}

func (regimeVeritas) MonitorOff(Config) (wizard.Command, bool) { return wizard.Command{}, false }
func (regimeVeritas) MonitorOn(Config) (wizard.Command, bool)  { return wizard.Command{}, false }
