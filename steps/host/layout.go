// Package host is the wizard's model of an iPlanet / Sun ONE Messaging Server
// host, taken from the product's documentation (docs/host-facts.md names the
// source of every fact; code that relies on one names its row, "host-facts:
// F-...").
//
// It owns the layout of a server root (Layout), instance discovery from
// /etc/nsserver.cfg (Discover), the readers of the product's own files
// (local.conf/msg.conf, dispatcher.cnf, job_controller.cnf, adm.conf, the web
// servers' magnus.conf), the service inventory (Inventory: each service's
// documented program names, port and listen address) and the evidence a real
// host has of what runs: its process table and its listening sockets
// (Evidence). It knows nothing of the simulator; fixtures/ imports it, never
// the reverse.
package host

import "path/filepath"

// Layout is one Messaging Server instance: a server root holding msg-INSTANCE,
// admin-serv and the https-* web server instances (host-facts: F-LAYOUT-001;
// seed 004: one instance per server root).
type Layout struct {
	Root     string // the server root, e.g. /usr/iplanet/server5
	Instance string // the messaging instance name without "msg-", e.g. "budgie"
	Host     string // fully qualified host name, e.g. "budgie.siroe.com"
}

// ServerRoot is the server root.
func (l Layout) ServerRoot() string { return l.Root }

// MsgDir is SERVER-ROOT/msg-INSTANCE (host-facts: F-LAYOUT-001).
func (l Layout) MsgDir() string { return filepath.Join(l.Root, "msg-"+l.Instance) }

func (l Layout) ConfigDir() string { return filepath.Join(l.MsgDir(), "config") }

// LocalConf and MsgConf are configutil's files (host-facts: F-CONF-001).
func (l Layout) LocalConf() string  { return filepath.Join(l.ConfigDir(), "local.conf") }
func (l Layout) MsgConf() string    { return filepath.Join(l.ConfigDir(), "msg.conf") }
func (l Layout) IMTAConfig() string { return filepath.Join(l.MsgDir(), "imta", "config") }

// DispatcherCnf and JobControllerCnf are the MTA's option files
// (host-facts: F-CONF-002, F-CONF-003).
func (l Layout) DispatcherCnf() string { return filepath.Join(l.IMTAConfig(), "dispatcher.cnf") }
func (l Layout) JobControllerCnf() string {
	return filepath.Join(l.IMTAConfig(), "job_controller.cnf")
}
func (l Layout) HTMLDir() string  { return filepath.Join(l.MsgDir(), "html") }
func (l Layout) QueueDir() string { return filepath.Join(l.MsgDir(), "imta", "queue") }

// StorePrimary is the primary store partition (store.partition.primary.path).
func (l Layout) StorePrimary() string {
	return filepath.Join(l.MsgDir(), "store", "partition", "primary")
}
func (l Layout) MailLog() string { return filepath.Join(l.MsgDir(), "log", "imta", "mail.log_current") }

// StartMsg, StopMsg, IMSimta and Configutil are the instance's control
// utilities (host-facts: F-CMD-001, F-CMD-002, F-CMD-003).
func (l Layout) StartMsg() string   { return filepath.Join(l.MsgDir(), "start-msg") }
func (l Layout) StopMsg() string    { return filepath.Join(l.MsgDir(), "stop-msg") }
func (l Layout) IMSimta() string    { return filepath.Join(l.MsgDir(), "imsimta") }
func (l Layout) Configutil() string { return filepath.Join(l.MsgDir(), "configutil") }

// BackupGlob matches the directories the installer creates on upgrade
// (msg-INSTANCE/backup.TIMESTAMP, seed 003 step 1; host-facts: F-VER-004).
func (l Layout) BackupGlob() string { return filepath.Join(l.MsgDir(), "backup.*") }

// AdminDir, AdmConf, StartAdmin and StopAdmin are the Administration Server's
// (host-facts: F-CMD-004).
func (l Layout) AdminDir() string   { return filepath.Join(l.Root, "admin-serv") }
func (l Layout) AdmConf() string    { return filepath.Join(l.AdminDir(), "config", "adm.conf") }
func (l Layout) StartAdmin() string { return filepath.Join(l.Root, "start-admin") }
func (l Layout) StopAdmin() string  { return filepath.Join(l.Root, "stop-admin") }

// WebInstances are the web server instances the appendix names: the admin
// server's https-admserv and the messaging host's https-HOST (seed 003 step 2).
func (l Layout) WebInstances() []string { return []string{"https-admserv", "https-" + l.Host} }
func (l Layout) WebDir(inst string) string {
	return filepath.Join(l.Root, inst)
}
func (l Layout) WebStart(inst string) string { return filepath.Join(l.WebDir(inst), "start") }
func (l Layout) WebStop(inst string) string  { return filepath.Join(l.WebDir(inst), "stop") }
func (l Layout) MagnusConf(inst string) string {
	return filepath.Join(l.WebDir(inst), "config", "magnus.conf")
}

func (l Layout) SetupDir() string        { return filepath.Join(l.Root, "setup") }
func (l Layout) SetupInstallInf() string { return filepath.Join(l.SetupDir(), "install.inf") }
func (l Layout) SetupLogDir() string     { return filepath.Join(l.SetupDir(), "msg") }
