package service

import "mswizard/wizard"

// regimeSC22: the Sun Cluster 2.2 data service iMS50 (seeds 003, 004). Its
// fault monitor restarts a stopped daemon unless `hareg -n` ran first
// (host-facts: F-CMD-006); there is no resource command that stops the
// daemons, so each is stopped with `stop-msg SERVICE`, and the restart is
// `start-msg ha` (seed 003 post-upgrade step 6).
type regimeSC22 struct{}

func (regimeSC22) Name() Regime       { return RegimeSC22 }
func (regimeSC22) HA() bool           { return true }
func (regimeSC22) DefaultBin() string { return "/opt/SUNWcluster/bin" }
func (regimeSC22) Tools() []string    { return []string{"hareg"} }
func (regimeSC22) PerUnit() bool      { return false }

func (regimeSC22) StopMessaging(Config) (wizard.Command, bool) { return wizard.Command{}, false }

func (regimeSC22) StartMessaging(c Config) wizard.Command { return c.plain().StartMsg("ha") }

func (regimeSC22) MonitorOff(c Config) (wizard.Command, bool) { return c.sc22().Off(), true }
func (regimeSC22) MonitorOn(c Config) (wizard.Command, bool)  { return c.sc22().On(), true }
