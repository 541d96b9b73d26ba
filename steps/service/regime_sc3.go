package service

import "mswizard/wizard"

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
