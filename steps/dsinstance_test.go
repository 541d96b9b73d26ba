package steps

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"mswizard/steps/host"
	"mswizard/steps/service"
	"mswizard/wizard"
)

const dseConfig = "dn: cn=config\nobjectClass: top\nobjectClass: nsslapdConfig\ncn: config\nnsslapd-port: 389\nnsslapd-rootdn: cn=Directory Manager\n\n"

func dseBackend(name, suffix string) string {
	return "dn: cn=" + name + ", cn=ldbm database, cn=plugins, cn=config\nobjectClass: top\nobjectClass: extensibleObject\n" +
		"objectClass: nsBackendInstance\ncn: " + name + "\nnsslapd-suffix: " + suffix + "\n\n"
}

// writeInstance lays an iPlanet DS 5.x instance directory into root.
func writeInstance(t *testing.T, root, name, dse string, scripts bool) string {
	t.Helper()
	dir := filepath.Join(root, name)
	if err := os.MkdirAll(filepath.Join(dir, "config"), 0o755); err != nil {
		t.Fatal(err)
	}
	if dse != "" {
		if err := os.WriteFile(filepath.Join(dir, "config", "dse.ldif"), []byte(dse), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if scripts {
		for _, s := range []string{"db2ldif", "ldif2db", "start-slapd", "stop-slapd"} {
			if err := os.WriteFile(filepath.Join(dir, s), []byte("#!/bin/sh\n"), 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	return dir
}

func TestDirectoryServerInstanceDetection(t *testing.T) {
	cases := []struct {
		name    string
		lay     func(t *testing.T, root string)
		want    []string // instance: name port backends
		skipped []string // base names skipped
		err     string
	}{
		{"a server root without slapd-* has no instance", func(t *testing.T, root string) {}, nil, nil, ""},
		{"slapd-ID with config/dse.ldif and its ldbm backends is an instance", func(t *testing.T, root string) {
			writeInstance(t, root, "slapd-budgie", dseConfig+dseBackend("userRoot", "o=siroe.com")+dseBackend("NetscapeRoot", "o=NetscapeRoot"), true)
		}, []string{"slapd-budgie 389 userRoot=o=siroe.com NetscapeRoot=o=NetscapeRoot"}, nil, ""},
		{"a copy named slapd-ID.bak is skipped, never exported", func(t *testing.T, root string) {
			writeInstance(t, root, "slapd-budgie.bak", dseConfig+dseBackend("userRoot", "o=siroe.com"), true)
		}, nil, []string{"slapd-budgie.bak"}, ""},
		{"a slapd-* directory without dse.ldif is not a DS 5.x instance", func(t *testing.T, root string) {
			writeInstance(t, root, "slapd-old", "", false)
		}, nil, []string{"slapd-old"}, ""},
		{"a slapd-* file is skipped", func(t *testing.T, root string) {
			if err := os.WriteFile(filepath.Join(root, "slapd-notes"), nil, 0o644); err != nil {
				t.Fatal(err)
			}
		}, nil, []string{"slapd-notes"}, ""},
		{"an instance whose dse.ldif names no backend has nothing to export", func(t *testing.T, root string) {
			writeInstance(t, root, "slapd-cfg", dseConfig, true)
		}, nil, []string{"slapd-cfg"}, ""},
		{"entries outside cn=ldbm database are not backends", func(t *testing.T, root string) {
			writeInstance(t, root, "slapd-budgie", dseConfig+dseBackend("userRoot", "o=siroe.com")+
				"dn: cn=chaining database,cn=plugins,cn=config\nobjectClass: nsBackendInstance\ncn: chaining database\nnsslapd-suffix: o=remote\n\n", true)
		}, []string{"slapd-budgie 389 userRoot=o=siroe.com"}, nil, ""},
		{"a port the dse.ldif does not state is an error, never assumed", func(t *testing.T, root string) {
			writeInstance(t, root, "slapd-budgie", "dn: cn=config\ncn: config\n\n"+dseBackend("userRoot", "o=siroe.com"), true)
		}, nil, nil, "no nsslapd-port"},
		{"a backend without nsslapd-suffix is an error", func(t *testing.T, root string) {
			writeInstance(t, root, "slapd-budgie", dseConfig+"dn: cn=userRoot,cn=ldbm database,cn=plugins,cn=config\nobjectClass: nsBackendInstance\ncn: userRoot\n\n", true)
		}, nil, nil, "no cn or no nsslapd-suffix"},
		{"a dse.ldif that is not LDIF is an error naming the file", func(t *testing.T, root string) {
			writeInstance(t, root, "slapd-budgie", "this is not ldif\n", true)
		}, nil, nil, "dse.ldif"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			tc.lay(t, root)
			found, skipped, err := detectDSInstances(root)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want one naming %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, d := range found {
				s := d.Name + " " + strconv.Itoa(d.Port)
				for _, b := range d.Backends {
					s += " " + b.Name + "=" + b.Suffix
				}
				if d.Dir != filepath.Join(root, d.Name) {
					t.Errorf("%s: dir %s", d.Name, d.Dir)
				}
				got = append(got, s)
			}
			var sk []string
			for _, k := range skipped {
				sk = append(sk, filepath.Base(k.Path))
			}
			if !slices.Equal(got, tc.want) || !slices.Equal(sk, tc.skipped) {
				t.Fatalf("found %q skipped %q, want %q and %q", got, sk, tc.want, tc.skipped)
			}
		})
	}
}

func TestDirectoryServerInstanceCommands(t *testing.T) {
	d := dsInstance{Name: "slapd-budgie", Dir: "/usr/iplanet/server5/slapd-budgie", Port: 389}
	b := dsBackend{Name: "userRoot", Suffix: "o=siroe.com"}
	cases := []struct {
		name string
		cmd  wizard.Command
		want string
	}{
		{"the export is the instance's db2ldif of one backend by name, to an absolute file",
			d.exportCmd(b, "/var/mswizard/directory-instance/slapd-budgie/20021121.userRoot.ldif"),
			"/usr/iplanet/server5/slapd-budgie/db2ldif -n userRoot -a /var/mswizard/directory-instance/slapd-budgie/20021121.userRoot.ldif"},
		{"the load is the instance's ldif2db of the same backend from the export",
			d.importCmd(b, "/var/mswizard/x.ldif"), "/usr/iplanet/server5/slapd-budgie/ldif2db -n userRoot -i /var/mswizard/x.ldif"},
		{"the start is the instance's start-slapd", d.startCmd(0), "/usr/iplanet/server5/slapd-budgie/start-slapd"},
		{"the stop is the instance's stop-slapd", d.stopCmd(0), "/usr/iplanet/server5/slapd-budgie/stop-slapd"},
		{"a backend name with a blank is quoted as one argument",
			d.exportCmd(dsBackend{Name: "my db"}, "/f.ldif"), "/usr/iplanet/server5/slapd-budgie/db2ldif -n 'my db' -a /f.ldif"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.cmd.String(); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
			if tc.cmd.Dir != d.Dir {
				t.Errorf("runs in %q, want the instance directory (the scripts assume it)", tc.cmd.Dir)
			}
		})
	}
	// The export lives outside the server root the backout restores.
	p := dsExportPath("/var/state", d, b, "20021121")
	if p != "/var/state/directory-instance/slapd-budgie/20021121.userRoot.ldif" {
		t.Errorf("export path %s", p)
	}
}

// The two steps place their undos where the appendix's backout puts the
// Directory Server: its stop after the Messaging Server's and before the
// Administration Server's (and so before the restore stage), its start after
// the Administration Server's and before the Messaging Server's.
func TestDirectoryServerUndosSitInTheAppendixOrder(t *testing.T) {
	c := testConfig(t)
	stop := wizard.Describe(DirectoryInstanceCheck(c)).Backout
	start := wizard.Describe(DirectoryInstanceExport(c)).Backout
	if stop.Stage != wizard.BackoutStop || !(service.StopRank(service.Messaging) < stop.Rank && stop.Rank < service.StopRank(service.Administration)) {
		t.Errorf("stop key %v: want the stop stage between the Messaging Server (%d) and the Administration Server (%d)",
			stop, service.StopRank(service.Messaging), service.StopRank(service.Administration))
	}
	if start.Stage != wizard.BackoutStart || !(service.StartRank(service.Administration) < start.Rank && start.Rank < service.StartRank(service.Messaging)) {
		t.Errorf("start key %v: want the start stage between the Administration Server (%d) and the Messaging Server (%d)",
			start, service.StartRank(service.Administration), service.StartRank(service.Messaging))
	}
}

// Without an instance both steps are done at once and say why: a plain
// host's run skips them.
func TestDirectoryServerStepsSkipAHostWithoutAnInstance(t *testing.T) {
	c := testConfig(t)
	env := (&wizard.Env{}).Nop()
	for _, s := range []wizard.Step{DirectoryInstanceExport(c), DirectoryInstanceCheck(c)} {
		done, why, err := s.Check(context.Background(), env)
		if err != nil || !done || !strings.Contains(why, "no Directory Server instance") {
			t.Errorf("%s: done=%v why=%q err=%v, want done: no instance", s.ID(), done, why, err)
		}
	}
}

// The evidence that an instance runs: a process whose arguments name its
// directory, or a listener on its port; evidence that cannot be read is
// never "down".
func TestDirectoryServerInstanceEvidence(t *testing.T) {
	d := dsInstance{Name: "slapd-budgie", Dir: "/srv/server5/slapd-budgie", Port: 389}
	procs := func(ps ...host.Proc) func(context.Context) ([]host.Proc, error) {
		return func(context.Context) ([]host.Proc, error) { return ps, nil }
	}
	ls := func(ports ...int) func(context.Context) ([]host.Listener, error) {
		return func(context.Context) ([]host.Listener, error) {
			var out []host.Listener
			for _, p := range ports {
				out = append(out, host.Listener{Port: p})
			}
			return out, nil
		}
	}
	fail := func(context.Context) ([]host.Listener, error) { return nil, os.ErrPermission }
	cases := []struct {
		name string
		ev   host.Evidence
		want runState
	}{
		{"ns-slapd -D INSTANCE/config runs it", host.Evidence{Procs: procs(host.Proc{Pid: 7, Args: []string{"./ns-slapd", "-D", "/srv/server5/slapd-budgie/config"}}), Listeners: ls()}, isRunning},
		{"a listener on its port runs it", host.Evidence{Procs: procs(), Listeners: ls(389)}, isRunning},
		{"another instance's process does not", host.Evidence{Procs: procs(host.Proc{Pid: 7, Args: []string{"ns-slapd", "-D", "/srv/server5/slapd-budgie2/config"}}), Listeners: ls(390)}, notRunning},
		{"unreadable sockets and no process is unknown, not down", host.Evidence{Procs: procs(), Listeners: fail}, runUnknown},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := &dsSteps{c: testConfig(t), ev: tc.ev}
			if got, why := s.evidence(context.Background(), d); got != tc.want {
				t.Errorf("state %d (%s), want %d", got, why, tc.want)
			}
		})
	}
}

// The backout's restore of the server root refuses to run while an instance
// inside it runs, or while that cannot be told.
func TestServerRootRestoreRefusesARunningDirectoryServer(t *testing.T) {
	c := testConfig(t)
	dir := writeInstance(t, c.Host.ServerRoot(), "slapd-budgie", dseConfig+dseBackend("userRoot", "o=siroe.com"), true)
	noProcs := func(context.Context) ([]host.Proc, error) { return nil, nil }
	cases := []struct {
		name      string
		listeners func(context.Context) ([]host.Listener, error)
		procs     func(context.Context) ([]host.Proc, error)
		want      string // "" = allowed
	}{
		{"a stopped instance lets the restore run", func(context.Context) ([]host.Listener, error) { return nil, nil }, noProcs, ""},
		{"a running instance stops the restore, naming its stop-slapd",
			func(context.Context) ([]host.Listener, error) { return nil, nil },
			func(context.Context) ([]host.Proc, error) {
				return []host.Proc{{Pid: 9, Args: []string{"ns-slapd", "-D", dir + "/config"}}}, nil
			}, filepath.Join(dir, "stop-slapd")},
		{"unreadable evidence stops the restore", func(context.Context) ([]host.Listener, error) { return nil, os.ErrPermission }, noProcs, "cannot tell"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := &dsSteps{c: c, ev: host.Evidence{Procs: tc.procs, Listeners: tc.listeners}}
			err := s.instancesDown(context.Background())
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one naming %q", err, tc.want)
			}
		})
	}
}
