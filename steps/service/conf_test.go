package service

import (
	"os"
	"path/filepath"
	"testing"

	"mswizard/fixtures/layout"
)

func TestLocalConfIsReadLeniently(t *testing.T) {
	c := ParseLocalConf([]byte(`! a comment
# another
service.imap.port = 1143
service.pop.port=1110
local.watcher.enable = "no"
Local.AutoRestart: yes
not a line
service.imap.port = 2143
`))
	for _, tc := range []struct {
		name, key, want string
		set             bool
	}{
		{"spaces around = are allowed and the last assignment wins", "service.imap.port", "2143", true},
		{"no spaces around = is allowed", "service.pop.port", "1110", true},
		{"double quotes are removed", "local.watcher.enable", "no", true},
		{"names are case-insensitive and name: value is read", "local.autorestart", "yes", true},
		{"comments are not parameters", "! a comment", "", false},
		{"a line without = is ignored", "not a line", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, ok := c.Value(tc.key)
			if ok != tc.set || v != tc.want {
				t.Errorf("Value(%q) = %q, %v; want %q, %v", tc.key, v, ok, tc.want, tc.set)
			}
		})
	}
}

func TestEnableSwitches(t *testing.T) {
	for _, tc := range []struct {
		name    string
		conf    string
		service string
		want    bool
	}{
		{"a service without a switch is enabled", "", "imap", true},
		{"imap off on both ports is disabled", "service.imap.enable = 0\n", "imap", false},
		{"imap off but on its SSL port still runs", "service.imap.enable = no\nservice.imap.enablesslport = yes\n", "imap", true},
		{"pop off is disabled", "service.pop.enable = off\n", "pop", false},
		{"the MTA switch covers the dispatcher", "local.imta.enable = no\n", "dispatcher", false},
		{"the MTA switch covers the job controller", "local.imta.enable = no\n", "job_controller", false},
		{"sched has its local switch", "local.sched.enable = 0\n", "sched", false},
		{"the watcher has its local switch", "local.watcher.enable = no\n", "watcher", false},
		{"the store cannot be disabled", "local.store.enable = no\n", "store", true},
		{"an unreadable value keeps the default", "local.ens.enable = perhaps\n", "ens", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ParseLocalConf([]byte(tc.conf)).Enabled(tc.service); got != tc.want {
				t.Errorf("Enabled(%s) = %v, want %v", tc.service, got, tc.want)
			}
		})
	}
}

func TestOptionFilePorts(t *testing.T) {
	for _, tc := range []struct {
		name string
		got  int
		want int
	}{
		{"dispatcher: the SMTP section's PORT", DispatcherPort([]byte("! defaults\nMIN_PROCS=1\n[SERVICE=SMTP]\nPORT=2525\nIMAGE=x\n[SERVICE=SMTP_SUBMIT]\nPORT=587\n")), 2525},
		{"dispatcher: a port list gives its first port", DispatcherPort([]byte("[SERVICE=SMTP]\nPORT=25,465\n")), 25},
		{"dispatcher: b%v integers are read", DispatcherPort([]byte("[SERVICE=SMTP]\nPORT=16%19\n")), 25},
		{"dispatcher: section and key are case-insensitive", DispatcherPort([]byte("[service=smtp]\nport=2526\n")), 2526},
		{"dispatcher: another service's PORT is not SMTP's", DispatcherPort([]byte("[SERVICE=SMTP_SUBMIT]\nPORT=587\n")), 0},
		{"dispatcher: a global PORT applies when SMTP names none", DispatcherPort([]byte("PORT=2527\n[SERVICE=SMTP]\nIMAGE=x\n")), 2527},
		{"dispatcher: a commented PORT is ignored", DispatcherPort([]byte("[SERVICE=SMTP]\n!PORT=1\nPORT=2528\n")), 2528},
		{"job controller: TCP_PORT among the globals", JobControllerPort([]byte("! jc\nTCP_PORT=27442\n[POOL=DEFAULT]\nJOB_LIMIT=10\n")), 27442},
		{"job controller: lower-case keys as the 6 sample writes them", JobControllerPort([]byte("tcp_port=27443\njob_limit=10\n")), 27443},
		{"job controller: a TCP_PORT inside a section is not the listener", JobControllerPort([]byte("[POOL=X]\nTCP_PORT=1\n")), 0},
		{"adm.conf: port: N", AdmPort([]byte("ldapHost: x\nport: 5555\nsecurity: off\n")), 5555},
		{"magnus.conf: the Port directive", MagnusPort([]byte("ServerName budgie\nPort 8080\nUser nobody\n")), 8080},
		{"magnus.conf: a malformed Port is no port", MagnusPort([]byte("Port eighty\n")), 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Errorf("port = %d, want %d", tc.got, tc.want)
			}
		})
	}
}

func writeFiles(t *testing.T, files map[string]string) {
	t.Helper()
	for p, content := range files {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestReadPortsFromTheHostsOwnFiles(t *testing.T) {
	w := layout.Default(t.TempDir())
	writeFiles(t, map[string]string{
		w.MsgConf():   "service.imap.port = 9143\nlocal.store.port = 9000\n",
		w.LocalConf(): "service.imap.port = 10143\nservice.pop.port = 10110\nservice.http.port = 10080\nlocal.watcher.port = 10001\nlocal.ens.port = 10002\nlocal.sched.port = 10003\n",
		filepath.Join(w.IMTAConfig(), "dispatcher.cnf"):     "[SERVICE=SMTP]\nPORT=10025\n",
		filepath.Join(w.IMTAConfig(), "job_controller.cnf"): "TCP_PORT=10042\n",
		w.AdmConf(): "port: 10555\n",
		filepath.Join(w.WebDir("https-admserv"), "config", "magnus.conf"):          "Port 10556\n",
		filepath.Join(w.WebDir("https-budgie.siroe.com"), "config", "magnus.conf"): "Port 10080\n",
	})
	p, err := ReadPorts(w)
	if err != nil {
		t.Fatal(err)
	}
	want := Ports{
		"imap": 10143, "pop": 10110, "http": 10080, "watcher": 10001, "ens": 10002, "store": 9000,
		"sched": 10003, "dispatcher": 10025, "job_controller": 10042, "admin": 10555,
		"https-admserv": 10556, "https-budgie.siroe.com": 10080,
	}
	for k, v := range want {
		if p[k] != v {
			t.Errorf("port of %s = %d, want %d (local.conf overrides msg.conf)", k, p[k], v)
		}
	}
}

func TestReadPortsFallsBackToTheDocumentedDefaults(t *testing.T) {
	p, err := ReadPorts(layout.Default(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]int{"imap": 143, "pop": 110, "http": 80, "dispatcher": 25, "job_controller": 27442} {
		if p[k] != v {
			t.Errorf("default port of %s = %d, want %d", k, p[k], v)
		}
	}
	if _, ok := p["store"]; ok {
		t.Errorf("store has no documented default port, got %d", p["store"])
	}
}
