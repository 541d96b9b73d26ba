package service

import (
	"slices"
	"testing"

	"mswizard/fixtures/layout"
	"mswizard/wizard"
)

func TestBuildersPinExactArgv(t *testing.T) {
	w := layout.World{SR: "/usr/iplanet/server5", Instance: "budgie", Host: "budgie.siroe.com"}
	msg := "/usr/iplanet/server5/msg-budgie"
	p := Plain{W: w.Layout()}
	dt := Daemontools{}
	dtBin := Daemontools{Bin: "/command"}
	sc22 := SunCluster22{Bin: "/opt/SUNWcluster/bin", Service: "iMS50"}
	sc3 := SunCluster3{Bin: "/usr/cluster/bin", Resource: "ims-rs", Group: "ims-rg"}
	vcs := Veritas{Bin: "/opt/VRTSvcs/bin", Group: "iMS5", System: "budgie"}
	for _, tc := range []struct {
		name string
		cmd  wizard.Command
		want []string
	}{
		{"plain: the dispatcher stops first through imsimta", p.StopDispatcher(), []string{msg + "/imsimta", "stop", "dispatcher"}},
		{"plain: the dispatcher starts again through imsimta", p.StartDispatcher(), []string{msg + "/imsimta", "start", "dispatcher"}},
		{"plain: stop-msg without a service stops the whole server", p.StopMsg(""), []string{msg + "/stop-msg"}},
		{"plain: stop-msg with a service stops that one", p.StopMsg("imap"), []string{msg + "/stop-msg", "imap"}},
		{"plain: start-msg without a service starts all", p.StartMsg(""), []string{msg + "/start-msg"}},
		{"plain: start-msg ha is the HA restart", p.StartMsg("ha"), []string{msg + "/start-msg", "ha"}},
		{"plain: start-msg with a service starts that one", p.StartMsg("store"), []string{msg + "/start-msg", "store"}},
		{"plain: stop-admin lives in the server root", p.StopAdmin(), []string{"/usr/iplanet/server5/stop-admin"}},
		{"plain: start-admin lives in the server root", p.StartAdmin(), []string{"/usr/iplanet/server5/start-admin"}},
		{"plain: a web instance stops with its own script", p.StopWeb("https-admserv"), []string{"/usr/iplanet/server5/https-admserv/stop"}},
		{"plain: a web instance starts with its own script", p.StartWeb("https-budgie.siroe.com"), []string{"/usr/iplanet/server5/https-budgie.siroe.com/start"}},
		{"plain: the watcher is switched off through configutil", p.SetConfig("local.watcher.enable", "no"), []string{msg + "/configutil", "-o", "local.watcher.enable", "-v", "no"}},
		{"plain: auto-restart is switched on through configutil", p.SetConfig("local.autorestart", "yes"), []string{msg + "/configutil", "-o", "local.autorestart", "-v", "yes"}},
		{"plain: an unset parameter is restored by deleting it", p.DeleteConfig("local.autorestart"), []string{msg + "/configutil", "-o", "local.autorestart", "-d"}},
		{"daemontools: svc -d takes a service down", dt.Down("/service/imap"), []string{"svc", "-d", "/service/imap"}},
		{"daemontools: svc -u brings it up", dt.Up("/service/imap"), []string{"svc", "-u", "/service/imap"}},
		{"daemontools: svc -x lets supervise exit", dt.Exit("/service/.imap/log"), []string{"svc", "-x", "/service/.imap/log"}},
		{"daemontools: svstat reports", dt.Stat("/service/imap"), []string{"svstat", "/service/imap"}},
		{"daemontools: a Bin directory prefixes the tools", dtBin.Down("/service/imap"), []string{"/command/svc", "-d", "/service/imap"}},
		{"sc2.2: hareg -n turns the data service and its monitor off", sc22.Off(), []string{"/opt/SUNWcluster/bin/hareg", "-n", "iMS50"}},
		{"sc2.2: hareg -y turns it on after the work", sc22.On(), []string{"/opt/SUNWcluster/bin/hareg", "-y", "iMS50"}},
		{"sc2.2: hareg -u iMS50 unregisters it for the upgrade", sc22.Unregister(), []string{"/opt/SUNWcluster/bin/hareg", "-u", "iMS50"}},
		{"sc2.2: hareg -r registers it again", sc22.Register(), []string{"/opt/SUNWcluster/bin/hareg", "-r", "iMS50"}},
		{"sc2.2: hareg -r names the logical host", sc22.Register("-h", "budgie.siroe.com"), []string{"/opt/SUNWcluster/bin/hareg", "-r", "iMS50", "-h", "budgie.siroe.com"}},
		{"sc2.2: haget -f mastered lists the logical hosts mastered here", sc22.Mastered(), []string{"/opt/SUNWcluster/bin/haget", "-f", "mastered"}},
		{"sc3: scswitch -n -j stops one resource", sc3.Disable(), []string{"/usr/cluster/bin/scswitch", "-n", "-j", "ims-rs"}},
		{"sc3: scswitch -e -j starts one resource", sc3.Enable(), []string{"/usr/cluster/bin/scswitch", "-e", "-j", "ims-rs"}},
		{"sc3: scswitch -F -g stops the whole group", sc3.GroupOffline(), []string{"/usr/cluster/bin/scswitch", "-F", "-g", "ims-rg"}},
		{"sc3: scswitch -Z -g starts the whole group", sc3.GroupOnline(), []string{"/usr/cluster/bin/scswitch", "-Z", "-g", "ims-rg"}},
		{"sc3: scswitch -R -g restarts the group", sc3.GroupRestart(), []string{"/usr/cluster/bin/scswitch", "-R", "-g", "ims-rg"}},
		{"sc3: scswitch -n -M -j turns the fault monitor off", sc3.MonitorOff(), []string{"/usr/cluster/bin/scswitch", "-n", "-M", "-j", "ims-rs"}},
		{"sc3: scswitch -e -M -j turns the fault monitor on", sc3.MonitorOn(), []string{"/usr/cluster/bin/scswitch", "-e", "-M", "-j", "ims-rs"}},
		{"veritas: hares -offline takes the resource off on its system", vcs.ResOffline("mail"), []string{"/opt/VRTSvcs/bin/hares", "-offline", "mail", "-sys", "budgie"}},
		{"veritas: hares -online brings it back", vcs.ResOnline("mail"), []string{"/opt/VRTSvcs/bin/hares", "-online", "mail", "-sys", "budgie"}},
		{"veritas: hagrp -offline takes the group off", vcs.GroupOffline(), []string{"/opt/VRTSvcs/bin/hagrp", "-offline", "iMS5", "-sys", "budgie"}},
		{"veritas: hagrp -online brings the group back", vcs.GroupOnline(), []string{"/opt/VRTSvcs/bin/hagrp", "-online", "iMS5", "-sys", "budgie"}},
		{"veritas: a resource is disabled with Enabled 0", vcs.SetEnabled("mail", false), []string{"/opt/VRTSvcs/bin/hares", "-modify", "mail", "Enabled", "0"}},
		{"veritas: a resource is enabled with Enabled 1", vcs.SetEnabled("mail", true), []string{"/opt/VRTSvcs/bin/hares", "-modify", "mail", "Enabled", "1"}},
		{"veritas: unlink drops the parent's dependency on the child", vcs.Unlink("mail", "logical_IP"), []string{"/opt/VRTSvcs/bin/hares", "-unlink", "mail", "logical_IP"}},
		{"veritas: link restores it", vcs.Link("mail", "mountshared"), []string{"/opt/VRTSvcs/bin/hares", "-link", "mail", "mountshared"}},
		{"veritas: haconf -makerw opens the configuration", vcs.ConfWritable(), []string{"/opt/VRTSvcs/bin/haconf", "-makerw"}},
		{"veritas: haconf -dump -makero saves and closes it", vcs.ConfSave(), []string{"/opt/VRTSvcs/bin/haconf", "-dump", "-makero"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.cmd.Argv(); !slices.Equal(got, tc.want) {
				t.Errorf("argv = %q, want %q", got, tc.want)
			}
			if got, want := tc.cmd.String(), wizard.ShellQuote(tc.want...); got != want {
				t.Errorf("summary = %q, want %q", got, want)
			}
		})
	}
}

func TestPlainCommandsCarryTheConfiguredTimeouts(t *testing.T) {
	p := Plain{W: layout.Default("/w").Layout(), StopTimeout: 7, StartTimeout: 9}
	if p.StopMsg("").Timeout != 7 || p.StopAdmin().Timeout != 7 || p.StopWeb("https-x").Timeout != 7 {
		t.Errorf("stop commands do not carry StopTimeout")
	}
	if p.StartMsg("").Timeout != 9 || p.StartAdmin().Timeout != 9 || p.StartWeb("https-x").Timeout != 9 {
		t.Errorf("start commands do not carry StartTimeout")
	}
}
