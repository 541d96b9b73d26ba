package service

import (
	"path/filepath"
	"time"

	"mswizard/steps/host"
	"mswizard/wizard"
)

// Plain builds the Messaging Server's own control commands (seed 003 "メッセージ
// プロセスの停止", seed 000 §4.4.2). Its methods are pure.
type Plain struct {
	W            host.Layout
	StopTimeout  time.Duration // the Command's own bound; 0 means wizard.DefaultTimeout
	StartTimeout time.Duration
}

func (p Plain) stop(path string, args ...string) wizard.Command {
	return wizard.Command{Path: path, Args: args, Timeout: p.StopTimeout}
}

func (p Plain) start(path string, args ...string) wizard.Command {
	return wizard.Command{Path: path, Args: args, Timeout: p.StartTimeout}
}

// StopDispatcher is the appendix's first stop, `imsimta stop dispatcher`: no more
// mail is accepted (host-facts: F-CMD-005).
func (p Plain) StopDispatcher() wizard.Command { return p.stop(p.W.IMSimta(), "stop", "dispatcher") }

// StartDispatcher reverses StopDispatcher.
func (p Plain) StartDispatcher() wizard.Command {
	return p.start(p.W.IMSimta(), "start", "dispatcher")
}

// StopMsg is `stop-msg [service]`. Without a service it stops the whole server,
// which the product refuses under HA (seed 000 §4.4.1): steps never build that
// form under a cluster regime.
func (p Plain) StopMsg(service string) wizard.Command {
	return p.stop(p.W.StopMsg(), optional(service)...)
}

// StartMsg is `start-msg [service]`; `start-msg ha` is the appendix's restart
// under High Availability (seed 003, post-upgrade step 6).
func (p Plain) StartMsg(service string) wizard.Command {
	return p.start(p.W.StartMsg(), optional(service)...)
}

// StopAdmin and StartAdmin control the Administration Server (SERVER-ROOT/stop-admin).
func (p Plain) StopAdmin() wizard.Command  { return p.stop(p.W.StopAdmin()) }
func (p Plain) StartAdmin() wizard.Command { return p.start(p.W.StartAdmin()) }

// StopWeb and StartWeb control a web server instance (SERVER-ROOT/https-INST/stop).
func (p Plain) StopWeb(inst string) wizard.Command  { return p.stop(p.W.WebStop(inst)) }
func (p Plain) StartWeb(inst string) wizard.Command { return p.start(p.W.WebStart(inst)) }

// SetConfig is `configutil -o NAME -v VALUE` (FORMATS.md §2.1).
func (p Plain) SetConfig(name, value string) wizard.Command {
	return wizard.Command{Path: p.W.Configutil(), Args: []string{"-o", name, "-v", value}}
}

// DeleteConfig is `configutil -o NAME -d`: it restores a parameter that was not
// set before, so its default applies again.
func (p Plain) DeleteConfig(name string) wizard.Command {
	return wizard.Command{Path: p.W.Configutil(), Args: []string{"-o", name, "-d"}}
}

func optional(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}

// Daemontools builds svc and svstat command lines (seed 001, COOKBOOK daemontools).
// Its methods are pure; the down file is not a command and steps handle it.
type Daemontools struct {
	Bin     string // directory of svc and svstat; empty means $PATH
	Timeout time.Duration
}

func (d Daemontools) cmd(name string, args ...string) wizard.Command {
	path := name
	if d.Bin != "" {
		path = filepath.Join(d.Bin, name)
	}
	return wizard.Command{Path: path, Args: args, Timeout: d.Timeout}
}

// Down is `svc -d DIR`: supervise stops the service and does not restart it.
func (d Daemontools) Down(dir string) wizard.Command { return d.cmd("svc", "-d", dir) }

// Up is `svc -u DIR`: supervise starts the service and restarts it if it dies.
func (d Daemontools) Up(dir string) wizard.Command { return d.cmd("svc", "-u", dir) }

// Exit is `svc -x DIR`: supervise exits once the service is down (seed 001,
// removing a service).
func (d Daemontools) Exit(dir string) wizard.Command { return d.cmd("svc", "-x", dir) }

// Stat is `svstat DIR`.
func (d Daemontools) Stat(dir string) wizard.Command { return d.cmd("svstat", dir) }

// DownFile is the file that keeps a service down when svscan starts it after a
// reboot (seed 001).
func DownFile(dir string) string { return filepath.Join(dir, "down") }

// SunCluster22 builds hareg command lines for the Sun Cluster 2.2 data service
// (seed 003 HA section, seed 004). hareg takes the data service name with -n, -y
// and -u.
type SunCluster22 struct {
	Bin     string
	Service string // "iMS50"
}

func (s SunCluster22) hareg(flag string) wizard.Command {
	return wizard.Command{Path: filepath.Join(s.Bin, "hareg"), Args: []string{flag, s.Service}}
}

// Off is `hareg -n SERVICE`: the data service and its fault monitor go off, so a
// stopped daemon is not restarted (seed 004).
func (s SunCluster22) Off() wizard.Command { return s.hareg("-n") }

// On is `hareg -y SERVICE`, after the administrative work (seed 004).
func (s SunCluster22) On() wizard.Command { return s.hareg("-y") }

// Unregister is `hareg -u SERVICE` (seed 003, Sun Cluster 2.2 upgrade step 2).
func (s SunCluster22) Unregister() wizard.Command { return s.hareg("-u") }

// Register is `hareg -r SERVICE [ARGS]`, what the Sun Cluster 2.2 agent
// installation does to register the data service again (seed 003, upgrade step 7).
func (s SunCluster22) Register(args ...string) wizard.Command {
	c := s.hareg("-r")
	c.Args = append(c.Args, args...)
	return c
}

// Mastered is `haget -f mastered`: the logical hosts this physical host masters.
func (s SunCluster22) Mastered() wizard.Command {
	return wizard.Command{Path: filepath.Join(s.Bin, "haget"), Args: []string{"-f", "mastered"}}
}

// SunCluster3 builds scswitch command lines (seed 000 table 4-2).
type SunCluster3 struct {
	Bin      string
	Resource string
	Group    string
}

func (s SunCluster3) scswitch(args ...string) wizard.Command {
	return wizard.Command{Path: filepath.Join(s.Bin, "scswitch"), Args: args}
}

// Disable is `scswitch -n -j RESOURCE` (stop one resource).
func (s SunCluster3) Disable() wizard.Command { return s.scswitch("-n", "-j", s.Resource) }

// Enable is `scswitch -e -j RESOURCE` (start one resource).
func (s SunCluster3) Enable() wizard.Command { return s.scswitch("-e", "-j", s.Resource) }

// GroupOffline is `scswitch -F -g GROUP` (stop the whole group).
func (s SunCluster3) GroupOffline() wizard.Command { return s.scswitch("-F", "-g", s.Group) }

// GroupOnline is `scswitch -Z -g GROUP` (start the whole group).
func (s SunCluster3) GroupOnline() wizard.Command { return s.scswitch("-Z", "-g", s.Group) }

// GroupRestart is `scswitch -R -g GROUP`.
func (s SunCluster3) GroupRestart() wizard.Command { return s.scswitch("-R", "-g", s.Group) }

// MonitorOff is `scswitch -n -M -j RESOURCE`: the fault monitor stops watching.
func (s SunCluster3) MonitorOff() wizard.Command {
	return s.scswitch("-n", "-M", "-j", s.Resource)
}

// MonitorOn is `scswitch -e -M -j RESOURCE`.
func (s SunCluster3) MonitorOn() wizard.Command {
	return s.scswitch("-e", "-M", "-j", s.Resource)
}

// Veritas builds hares, hagrp and haconf command lines (seed 000 table 4-3, seed
// 003 Veritas upgrade section).
type Veritas struct {
	Bin    string
	Group  string
	System string
}

func (v Veritas) cmd(name string, args ...string) wizard.Command {
	return wizard.Command{Path: filepath.Join(v.Bin, name), Args: args}
}

// ResOffline is `hares -offline RESOURCE -sys SYSTEM`.
func (v Veritas) ResOffline(res string) wizard.Command {
	return v.cmd("hares", "-offline", res, "-sys", v.System)
}

// ResOnline is `hares -online RESOURCE -sys SYSTEM`.
func (v Veritas) ResOnline(res string) wizard.Command {
	return v.cmd("hares", "-online", res, "-sys", v.System)
}

// GroupOffline is `hagrp -offline GROUP -sys SYSTEM`.
func (v Veritas) GroupOffline() wizard.Command {
	return v.cmd("hagrp", "-offline", v.Group, "-sys", v.System)
}

// GroupOnline is `hagrp -online GROUP -sys SYSTEM`.
func (v Veritas) GroupOnline() wizard.Command {
	return v.cmd("hagrp", "-online", v.Group, "-sys", v.System)
}

// SetEnabled is `hares -modify RESOURCE Enabled 0|1`.
func (v Veritas) SetEnabled(res string, on bool) wizard.Command {
	val := "0"
	if on {
		val = "1"
	}
	return v.cmd("hares", "-modify", res, "Enabled", val)
}

// Unlink is `hares -unlink PARENT CHILD`: PARENT no longer depends on CHILD.
func (v Veritas) Unlink(parent, child string) wizard.Command {
	return v.cmd("hares", "-unlink", parent, child)
}

// Link is `hares -link PARENT CHILD`: PARENT depends on CHILD again.
func (v Veritas) Link(parent, child string) wizard.Command {
	return v.cmd("hares", "-link", parent, child)
}

// ConfWritable is `haconf -makerw`; VCS refuses -modify, -link and -unlink while
// its configuration is read-only.
func (v Veritas) ConfWritable() wizard.Command { return v.cmd("haconf", "-makerw") }

// ConfSave is `haconf -dump -makero`: the change is written to main.cf and the
// configuration is read-only again.
func (v Veritas) ConfSave() wizard.Command { return v.cmd("haconf", "-dump", "-makero") }
