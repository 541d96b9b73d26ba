// Package facts names what the upgrade's steps leave true on the host, so a
// whole-run plan (wizard.Fact) can hand a later step what an earlier one will
// have done: the step that establishes a fact and the steps that consult it
// agree on it here, and nowhere else.
package facts

import "mswizard/wizard"

const (
	// ServicesStopped: the messaging services, the Administration Server and
	// the web servers are down (the stop/ steps); post/start plans the start.
	ServicesStopped wizard.Fact = "services-stopped"
	// DelegatedAdminStopped and WebServerRootStopped: Delegated Administrator,
	// and the Web Server in its own root, are down (stop/delegated-admin,
	// stop/webserver-root); each one's post-upgrade start plans its start, and
	// the first start does not hide the second's.
	DelegatedAdminStopped wizard.Fact = "delegated-admin-stopped"
	WebServerRootStopped  wizard.Fact = "webserver-root-stopped"
	// AutoRestartOff: the watcher and local.autorestart are switched off and
	// their values recorded, and the cluster's fault monitor is off
	// (stop/auto-restart); post/start leaves the watcher to post/auto-restart,
	// which puts the values back, starts it and turns the monitor on.
	AutoRestartOff wizard.Fact = "auto-restart-off"
	// StoreAside: the message store partition is moved aside or unmounted
	// (store/aside); post/store-return plans its return.
	StoreAside wizard.Fact = "store-aside"
	// SchemaPresent: the user directory holds every definition the new version
	// needs (directory/schema); post/schema has nothing left to add, as the
	// appendix says ("skip this step if you already ran ims_dssetup.pl").
	SchemaPresent wizard.Fact = "schema-present"
	// VersionInstalled: the installer ran and left msg-INSTANCE/backup.TIMESTAMP
	// (upgrade/run-installer); upgrade/config-diff plans the merge from it.
	VersionInstalled wizard.Fact = "version-installed"
	// DispatcherStopped: the MTA dispatcher is proved down and, under
	// daemontools, its down file is in place (stop/dispatcher, seed 003
	// pre-upgrade step 1); stop/messaging's per-service stops (Sun Cluster
	// 2.2, daemontools) find it down, as the run does.
	DispatcherStopped wizard.Fact = "dispatcher-stopped"
	// DownFilesMade: under daemontools the stop steps left a down file in each
	// supervised service directory they stopped, and recorded which had none
	// (stop/*); post/start removes those before its svc -u (seed 001).
	DownFilesMade wizard.Fact = "down-files-made"
	// ClusterReleased: the cluster let go of the Messaging Server for the
	// upgrade — the Sun Cluster 2.2 data service unregistered, the Veritas mail
	// resource disabled and unlinked (ha/prepare, seed 003's HA sections);
	// post/ha-restore gives it back.
	ClusterReleased wizard.Fact = "cluster-released"
)
