package steps

import (
	"strings"

	"mswizard/steps/service"
	"mswizard/wizard"
)

// Service is the service-control configuration the answers describe.
func (c *Config) Service() service.Config {
	a := c.Answers
	sc := service.Config{
		Host:         c.Host,
		Regime:       service.Regime(a.Regime),
		StopTimeout:  a.StopTimeout,
		StartTimeout: a.StartTimeout,
		Directory:    c.Directory,
		// A Directory Server of the server root stops in post/start's undo
		// before the Administration Server (dsinstance_undo.go).
		DirectoryStop: newDSSteps(c).stopNow,
		Cluster: service.Cluster{
			Resource: a.ClusterResource, Group: a.ClusterGroup, System: a.ClusterSystem,
			HaregService: a.HaregService, IPResource: a.IPResource, MountResource: a.MountResource,
			Bin: a.ClusterBin, LogicalHost: a.FullMachineName,
		},
	}
	sc.ServiceDir = a.ServiceDir
	sc.Cluster.Nodes = a.ClusterNodes
	sc.WebServerRoot, sc.DelegatedAdminRoot, sc.DelegatedAdminInstance = a.WebServerRoot, a.DelegatedAdminRoot, a.DelegatedAdminInstance
	return sc
}

// Upgrade is the upgrade runbook, in the appendix's order (seed 003). The order
// is the spec; a test pins it.
//
//  1. preflight, read-only, before anything changes (the Directory Server's
//     version among them: an older one is upgraded first, by its own procedure);
//  2. the mail baseline, read while mail still flows;
//  3. the pre-upgrade stops: auto-restart off, the dispatcher first, then the
//     other services; the Directory Server checked still up;
//  4. the backups: the queue when it holds messages, the store moved aside, the
//     whole server root; all verified before anything destructive; a
//     Directory Server inside the server root exported with its own db2ldif
//     (backup step 3); the LDIF exports, then the schema prepared
//     (ims_dssetup.pl);
//  5. the installer (a point of no return short of a restore), the merge of the
//     customizations, and the result saved (post-upgrade step 1);
//  6. post-upgrade: the store returned, the schema again for the MTA's direct
//     LDAP lookups (step 3), the services started in the documented order,
//     auto-restart back on, and mail.log_current and the queue checked (step 7).
func Upgrade(c *Config) []wizard.Step {
	sc := c.Service()
	pre := service.PreUpgrade(sc)
	post := service.PostUpgrade(sc)
	// The leading preflights of the service part (preflight/ha-probe) stay with
	// the other preflights, so the baseline is the first step that reads the host
	// at length, and it still runs before anything is stopped.
	n := 0
	for n < len(pre) && strings.HasPrefix(pre[n].ID(), "preflight/") {
		n++
	}
	var s []wizard.Step
	s = append(s, DiskSpace(c), DirectoryVersion(c), ConfigDirectoryProbe(c))
	s = append(s, pre[:n]...)
	s = append(s, BaselineMail(c))
	s = append(s, pre[n:]...)
	s = append(s,
		BackupQueue(c),
		StoreAside(c),
		BackupServerRoot(c),
		BackupVerify(c),
		DirectoryInstanceExport(c), DirectoryInstanceCheck(c),
		DirectoryExport(c), ConfigExport(c),
		DirectorySchema(c),
		RunInstaller(c),
		ConfigDiff(c),
		SaveConfig(c),
		StoreReturn(c),
		PostSchema(c),
	)
	// The cluster's operator actions come before post/start enables the
	// resource again; the appendix's post-upgrade steps 4 and 5 (Web Server
	// 6.0 SP2, Delegated Administrator 1.2) once the Web Server and Delegated
	// Administrator run again, as Delegated Administrator's uninstall needs
	// (operator.go).
	for _, st := range post {
		if st.ID() == service.IDStart {
			s = append(s, SC3Agent(c), VeritasChapter4(c))
		}
		s = append(s, st)
	}
	s = append(s, WebServerUpgrade(c), DelegatedAdminUpgrade(c))
	s = append(s, MailProbe(c), LogCheck(c), QueueCheck(c))
	return s
}
