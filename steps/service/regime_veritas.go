package service

import (
	"context"

	"mswizard/wizard"
)

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

// PrepareCheck: the dependency tree cannot be read here; the commands are idempotent.
func (regimeVeritas) PrepareCheck(context.Context, Config, *wizard.Env) (bool, string, error) {
	return false, "the Veritas dependency tree cannot be read here; its commands are idempotent", nil
}

// PreparePlan: the group offline, the mail resource disabled and unlinked from
// the logical IP and the shared mount, the group online again so the IP and
// the disk serve the upgrade (seed 003, Veritas); haconf -makerw / -dump
// -makero around the changes where haconf is installed.
func (regimeVeritas) PreparePlan(c Config, env *wizard.Env) []wizard.Action {
	v := c.vcs()
	res := c.Cluster.Resource
	var acts []wizard.Action
	if c.vcsConf() {
		acts = append(acts, cmdAction(env, v.ConfWritable(), opData{Op: "vcs-conf"}))
	}
	acts = append(acts,
		cmdAction(env, v.GroupOffline(), opData{Op: "vcs-group"}),
		cmdAction(env, v.SetEnabled(res, false), opData{Op: "vcs-disable", Arg: res}),
		cmdAction(env, v.Unlink(res, c.Cluster.IPResource), opData{Op: "vcs-unlink", Arg: c.Cluster.IPResource}),
		cmdAction(env, v.Unlink(res, c.Cluster.MountResource), opData{Op: "vcs-unlink", Arg: c.Cluster.MountResource}),
	)
	if c.vcsConf() {
		acts = append(acts, cmdAction(env, v.ConfSave(), opData{Op: "vcs-conf"}))
	}
	return append(acts, cmdAction(env, v.GroupOnline(), opData{Op: "vcs-group"}))
}

func (regimeVeritas) RestoreCheck(context.Context, Config, *wizard.Env) (bool, string, error) {
	return false, "the Veritas dependency tree cannot be read here; its commands are idempotent", nil
}

// RestorePlan: the dependency tree of the installation again.
func (regimeVeritas) RestorePlan(c Config, env *wizard.Env, _ string) []wizard.Action {
	v := c.vcs()
	res := c.Cluster.Resource
	var acts []wizard.Action
	if c.vcsConf() {
		acts = append(acts, cmdAction(env, v.ConfWritable(), opData{Op: "vcs-conf"}))
	}
	acts = append(acts,
		cmdAction(env, v.Link(res, c.Cluster.IPResource), opData{Op: "vcs-link", Arg: c.Cluster.IPResource}),
		cmdAction(env, v.Link(res, c.Cluster.MountResource), opData{Op: "vcs-link", Arg: c.Cluster.MountResource}),
		cmdAction(env, v.SetEnabled(res, true), opData{Op: "vcs-enable", Arg: res}),
	)
	if c.vcsConf() {
		acts = append(acts, cmdAction(env, v.ConfSave(), opData{Op: "vcs-conf"}))
	}
	return acts
}
