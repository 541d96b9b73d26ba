package steps

import (
	"path/filepath"

	"mswizard/steps/service"
	"mswizard/wizard"
)

// Service is the service-control configuration the answers describe.
func (c *Config) Service() service.Config {
	a := c.Answers
	sc := service.Config{
		World:        c.Host,
		Regime:       service.Regime(a.Regime),
		StopTimeout:  a.StopTimeout,
		StartTimeout: a.StartTimeout,
		Cluster: service.Cluster{
			Resource: a.ClusterResource, Group: a.ClusterGroup, System: a.ClusterSystem,
			HaregService: a.HaregService, IPResource: a.IPResource, MountResource: a.MountResource,
			Bin: a.ClusterBin, LogicalHost: a.FullMachineName,
		},
	}
	if a.ServiceDir != "" {
		dir := a.ServiceDir
		sc.SvcDir = func(unit string) string { return filepath.Join(dir, unit) }
	}
	return sc
}

// Upgrade is the upgrade runbook, in the appendix's order (seed 003). The order
// is the spec; a test pins it.
//
//  1. preflight, read-only, before anything changes;
//  2. the pre-upgrade stops: auto-restart off, the dispatcher first, then the
//     other services; the Directory Server checked still up;
//  3. the backups: the queue when it holds messages, the store moved aside, the
//     whole server root; all verified before anything destructive;
//  4. the installer (a point of no return short of a restore);
//  5. post-upgrade: the store returned, the services started in the documented
//     order, auto-restart back on.
func Upgrade(c *Config) []wizard.Step {
	sc := c.Service()
	pre := service.PreUpgrade(sc)
	post := service.PostUpgrade(sc)
	var s []wizard.Step
	s = append(s, DiskSpace(c))
	s = append(s, pre...)
	s = append(s,
		BackupQueue(c),
		StoreAside(c),
		BackupServerRoot(c),
		VerifyBackups(c),
		ExportLDIF(c),
		RunInstaller(c),
		ConfigMerge(c),
		ReturnStore(c),
	)
	s = append(s, post...)
	return s
}
