package host

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
)

func TestProcessOwnershipFollowsTheServerRootAndTheDocumentedNames(t *testing.T) {
	l := Layout{Root: "/opt/iplanet/server5", Instance: "budgie", Host: "budgie.siroe.com"}
	other := "/opt/iplanet/server6"
	for _, c := range []struct {
		name string
		unit string
		p    Proc
		want Owner
	}{
		{"the MTA dispatcher under the server root", "dispatcher", Proc{Args: []string{l.Root + "/bin/msg/imta/bin/dispatcher"}}, Yes},
		{"a tcp_smtp_server belongs to the dispatcher", "dispatcher", Proc{Args: []string{l.Root + "/bin/msg/imta/bin/tcp_smtp_server"}}, Yes},
		{"a tcp_lmtp_server belongs to the dispatcher (F-PROC-001)", "dispatcher", Proc{Args: []string{l.Root + "/bin/msg/imta/bin/tcp_lmtp_server"}}, Yes},
		{"the executable under the root counts when argv[0] was rewritten", "imap", Proc{Args: []string{"imapd: idle"}, Exe: l.Root + "/lib/imapd"}, Yes},
		{"another server root is another instance", "imap", Proc{Args: []string{other + "/bin/msg/imap/bin/imapd"}}, No},
		{"another program under the root is not the service", "imap", Proc{Args: []string{l.Root + "/bin/msg/pop/bin/popd"}}, No},
		{"a unit the model does not know owns nothing", "stored", Proc{Args: []string{"stored", "-d"}}, No},
		{"a relative stored is maybe the store", "store", Proc{Args: []string{"stored", "-d"}}, Maybe},
		{"the admin server's ns-httpd names admin-serv", Admin, Proc{Args: []string{l.Root + "/bin/https/bin/ns-httpd", "-d", l.Root + "/admin-serv/config"}}, Yes},
		{"a web instance's ns-httpd is not the admin server", Admin, Proc{Args: []string{l.Root + "/bin/https/bin/ns-httpd", "-d", l.Root + "/https-budgie.siroe.com/config"}}, No},
		{"the web instance's own ns-httpd", "https-budgie.siroe.com", Proc{Args: []string{l.Root + "/bin/https/bin/ns-httpd", "-d", l.Root + "/https-budgie.siroe.com/config"}}, Yes},
		{"an ns-httpd naming no instance: maybe", "https-budgie.siroe.com", Proc{Args: []string{l.Root + "/bin/https/bin/ns-httpd"}}, Maybe},
		{"a shell is nothing", "imap", Proc{Args: []string{"/bin/sh", "-c", "imapd"}}, No},
		{"a program name ps cut short is maybe the service", "job_controller", Proc{Args: []string{l.Root + "/bin/msg/imta/bin/job_contr"}, Truncated: true}, Maybe},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := Owns(l, c.unit, c.p); got != c.want {
				t.Errorf("Owns(%s, %v) = %v, want %v", c.unit, c.p, got, c.want)
			}
		})
	}
}

func TestListeningMatchesTheConfiguredAddressOrAllInterfaces(t *testing.T) {
	ls := []Listener{
		{Addr: netip.MustParseAddr("127.0.0.7"), Port: 143},
		{Addr: netip.MustParseAddr("127.0.0.1"), Port: 110},
		{Addr: netip.IPv4Unspecified(), Port: 25},
	}
	for _, c := range []struct {
		name string
		s    Service
		want int
	}{
		{"bound to the configured address", Service{Port: 143, Addr: "127.0.0.7"}, 1},
		{"another address on the port is not the service", Service{Port: 110, Addr: "127.0.0.7"}, 0},
		{"a listener on all interfaces serves every address", Service{Port: 25, Addr: "127.0.0.7"}, 1},
		{"a service on all interfaces is any address on its port", Service{Port: 110}, 1},
		{"no port, nothing to match", Service{Addr: "127.0.0.7"}, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := len(Listening(c.s, ls)); got != c.want {
				t.Errorf("Listening = %d, want %d", got, c.want)
			}
		})
	}
}

func TestSocketTablesAreReadOnEveryPlatform(t *testing.T) {
	// /proc/net/tcp: 127.0.0.7:143 listening (0A), an established socket skipped.
	tcp := "  sl  local_address rem_address   st\n" +
		"   0: 0700007F:008F 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1\n" +
		"   1: 0100007F:0019 0100007F:A000 01 00000000:00000000 00:00000000 00000000     0        0 2\n"
	got, err := ParseProcNetTCP(tcp)
	if err != nil || len(got) != 1 || got[0].String() != "127.0.0.7:143" {
		t.Errorf("tcp: %v %v", got, err)
	}
	tcp6 := "  sl  local_address rem_address st\n" +
		"   0: 00000000000000000000000000000000:0019 00000000000000000000000000000000:0000 0A 0 0 0 0 0 0 1\n"
	if got, err := ParseProcNetTCP(tcp6); err != nil || len(got) != 1 || !got[0].Addr.IsUnspecified() || got[0].Port != 25 {
		t.Errorf("tcp6: %v %v", got, err)
	}
	// Solaris netstat -an: the port after the last dot; "*" is all interfaces.
	sol := "TCP: IPv4\n   Local Address        Remote Address    Swind Send-Q Rwind Recv-Q    State\n" +
		"-------------------- -------------------- ----- ------ ----- ------ -----------\n" +
		"127.0.0.7.143              *.*                0      0 49152      0 LISTEN\n" +
		"      *.25                 *.*                0      0 49152      0 LISTEN\n" +
		"127.0.0.1.32771      127.0.0.1.389        49152 0 49152 0 ESTABLISHED\n"
	ls := ParseNetstat(sol)
	if len(ls) != 2 || ls[0].String() != "127.0.0.7:143" || !ls[1].Addr.IsUnspecified() || ls[1].Port != 25 {
		t.Errorf("solaris netstat: %v", ls)
	}
	linux := "tcp        0      0 127.0.0.9:143           0.0.0.0:*               LISTEN\n"
	if ls := ParseNetstat(linux); len(ls) != 1 || ls[0].String() != "127.0.0.9:143" {
		t.Errorf("linux netstat: %v", ls)
	}
}

func TestPsOutputIsReadOnEveryPlatform(t *testing.T) {
	ps := "  PID COMMAND\n  1 /sbin/init\n 4242 /opt/iplanet/server5/bin/msg/imta/bin/dispatcher\n 4243 /opt/SUNWmsgsr/lib/imapd -d 5 -D 6\n"
	got, err := ParsePS(ps)
	if err != nil || len(got) != 3 || got[1].Pid != 4242 || strings.Join(got[2].Args, " ") != "/opt/SUNWmsgsr/lib/imapd -d 5 -D 6" {
		t.Fatalf("ParsePS = %v, %v", got, err)
	}
	if _, err := ParsePS("  PID COMMAND\nnot-a-pid x\n"); err == nil {
		t.Error("a line without a pid is not an error")
	}
}

func TestDiscoveryFindsOneInstancePerServerRoot(t *testing.T) {
	dir := t.TempDir()
	one := filepath.Join(dir, "one")
	two := filepath.Join(dir, "two")
	ds := filepath.Join(dir, "ds-only")
	for _, d := range []string{one + "/msg-budgie", two + "/msg-a", two + "/msg-b", ds + "/slapd-x"} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cfg := filepath.Join(dir, "nsserver.cfg")
	os.WriteFile(cfg, []byte("# server roots\n"+one+"\n"+ds+"\n"), 0o644)
	ls, err := Discover(cfg, "budgie.siroe.com")
	if err != nil || len(ls) != 1 || ls[0].Root != one || ls[0].Instance != "budgie" {
		t.Fatalf("Discover = %v, %v", ls, err)
	}
	os.WriteFile(cfg, []byte(one+"\n"+two+"\n"), 0o644)
	var several *InstancesError
	if _, err := Discover(cfg, "h"); !errors.As(err, &several) || several.Root != two || !slices.Equal(several.Found, []string{"a", "b"}) ||
		!strings.Contains(err.Error(), "one per server root") {
		t.Errorf("two instances in one server root: %v", err)
	}
	if _, err := Instance(ds); !errors.Is(err, ErrNoInstance) {
		t.Errorf("a server root without msg-*: %v, want ErrNoInstance", err)
	}
	os.WriteFile(cfg, []byte("relative/root\n"), 0o644)
	if _, err := Discover(cfg, "h"); err == nil {
		t.Error("a relative server root is accepted")
	}
}

func TestAFiveXHostHasNoWatcher(t *testing.T) {
	l := Layout{Root: "/r", Instance: "i"}
	if HasWatcher(LocalConf{"service.imap.port": "143"}, l, nil) {
		t.Error("a configuration naming no watcher has one")
	}
	if !HasWatcher(LocalConf{"local.watcher.enable": "no"}, l, nil) {
		t.Error("a 6.x configuration with the watcher switched off has none")
	}
	if !HasWatcher(LocalConf{}, l, []Proc{{Pid: 9, Args: []string{"/r/lib/watcher"}}}) {
		t.Error("a live watcher process of the instance is not seen")
	}
}

func TestParsePSGroups(t *testing.T) {
	ps, err := ParsePSGroups("  PID  PGID COMMAND\n    1     1 /sbin/init\n  700   700 /cdrom/setup -s -f /var/state/install.inf.installer\n  701   700 ns-setup\n")
	if err != nil || len(ps) != 3 || ps[1].Pgid != 700 || ps[2].Pgid != 700 || ps[1].Args[3] != "/var/state/install.inf.installer" {
		t.Fatalf("ParsePSGroups = %+v, %v", ps, err)
	}
	if _, err := ParsePSGroups("PID PGID COMMAND\n12 x /bin/sh\n"); err == nil {
		t.Error("a line without a process group is accepted")
	}
}

func TestProcessGroupsFindsThisProcessInItsGroup(t *testing.T) {
	ps, err := ProcessGroups(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		if p.Pid == os.Getpid() {
			if p.Pgid != syscall.Getpgrp() {
				t.Errorf("pgid %d, want %d", p.Pgid, syscall.Getpgrp())
			}
			return
		}
	}
	t.Errorf("this process (%d) is not in the table", os.Getpid())
}
