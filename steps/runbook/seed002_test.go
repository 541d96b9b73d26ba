package runbook

import (
	"context"
	"fmt"
	"os"
	osexec "os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"mswizard/steps/node"
	"mswizard/wizard"
	"mswizard/wizard/answers"
)

// buildSeed002 builds the shipped seed 002 runbook for the answers given,
// with the control host standing in for both nodes, and returns the step IDs
// (an "each" step as its per-node IDs).
func buildSeed002(t *testing.T, setup string, mail bool) []string {
	t.Helper()
	var ids []string
	for _, s := range buildSeed002Steps(t, setup, mail, "") {
		ids = append(ids, s.ID())
	}
	return ids
}

func buildSeed002Steps(t *testing.T, setup string, mail bool, extra string) []wizard.Step {
	t.Helper()
	rb, err := Load("groupmax-serviceguard")
	if err != nil {
		t.Fatal(err)
	}
	inf := fmt.Sprintf("[groupmax-serviceguard]\nsetup = %s\nmail_server = %t\n%s[Nodes]\n"+
		"node1 = address=h1 user=root key=/k known_hosts=/kh\nnode2 = address=h2 user=root key=/k known_hosts=/kh\n", setup, mail, extra)
	f, err := answers.Parse("install.inf", []byte(inf))
	if err != nil {
		t.Fatal(err)
	}
	v, err := valuesFrom(rb, f, "/", 0o600)
	if err != nil {
		t.Fatal(err)
	}
	nodes := map[string]node.Node{"local": node.Local{}, "node1": node.Local{}, "node2": node.Local{}}
	steps, err := Build(rb, v, Options{StateDir: t.TempDir(), Nodes: nodes, Order: []string{"node1", "node2"}})
	if err != nil {
		t.Fatal(err)
	}
	return steps
}

// Seed 002: "steps whose item ends in (M) are needed only when Mail Server is
// used", and the two paths (1) new set-up and (2) existing environment are
// one file: every (M) step of the chosen path appears exactly when
// mail_server is true, every other step of the path always, and no step of
// the other path ever.
func TestSeed002MailServerStepsAppearOnlyWithMailServer(t *testing.T) {
	rb, err := Load("groupmax-serviceguard")
	if err != nil {
		t.Fatal(err)
	}
	// Each spec step with its (M) mark and path, from the runbook itself;
	// the test pins a few by name too, so a lost (M) mark cannot pass.
	type spec struct {
		id   string
		mail bool
		path string
	}
	var specs []spec
	for _, s := range rb.Steps {
		path, _, _ := strings.Cut(s.ID, "/")
		specs = append(specs, spec{s.ID, strings.Contains(s.Title, "(M)"), path})
	}
	for _, must := range []string{"new/node2/install-mail", "new/node1/mhs-nadr-cfg", "new/cluster/enable-apstart", "new/console/mail-running",
		"existing/node2/install-mail", "existing/node1/mhs-nadr-cfg", "existing/console/mta", "existing/domain/mhs-nadr-cfg"} {
		if !slices.ContainsFunc(specs, func(s spec) bool { return s.id == must && s.mail }) {
			t.Errorf("%s is not marked (M) in the shipped runbook", must)
		}
	}
	for _, tc := range []struct {
		setup string
		mail  bool
	}{{"new", true}, {"new", false}, {"existing", true}, {"existing", false}} {
		t.Run(fmt.Sprintf("setup=%s mail_server=%t", tc.setup, tc.mail), func(t *testing.T) {
			ids := buildSeed002(t, tc.setup, tc.mail)
			has := func(id string) bool {
				return slices.ContainsFunc(ids, func(x string) bool { return x == id || strings.HasPrefix(x, id+"/node") })
			}
			n := 0
			for _, s := range specs {
				want := s.path == tc.setup && (!s.mail || tc.mail)
				if strings.Contains(s.id, "standby-ip") {
					want = false // only with a standby LAN answered
				}
				if got := has(s.id); got != want {
					t.Errorf("%s (mail step %t, path %s): in the run %t, want %t", s.id, s.mail, s.path, got, want)
				}
				if want && s.mail {
					n++
				}
			}
			if tc.mail && n < 6 {
				t.Errorf("only %d (M) steps in the run with Mail Server", n)
			}
		})
	}
}

// runShippedStep runs a built step's actions on the control host and returns the
// last action's error and the output it showed.
func runShippedStep(t *testing.T, s wizard.Step) (string, error) {
	t.Helper()
	var out strings.Builder
	env := (&wizard.Env{Root: "/", StateDir: t.TempDir(), Output: func(_, l string) { out.WriteString(l + "\n") }}).Nop()
	actions, err := s.Plan(context.Background(), env)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range actions {
		rc := wizard.Receipt{}
		if err := a.Do(context.Background(), &rc); err != nil {
			return out.String(), err
		}
	}
	return out.String(), nil
}

// Seed 002 (1)(a) 5/15, (2)(b) 10: every directory and file under
// /var/opt/GroupMail must be on the shared disk. The shipped check, run on a
// tree whose shared disk is a tmpfs mounted for the test: it passes on a
// tree all on the disk (a link inside it included), and fails naming the
// path under /var/opt/GroupMail of a symbolic link that leads off it, one
// that leads nowhere, and a file system mounted below it.
func TestSeed002CheckSharedFindsWhatIsOffTheSharedDisk(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the test mounts a tmpfs")
	}
	if os.Geteuid() != 0 {
		t.Fatal("the test mounts a tmpfs as the shared disk: run it as root")
	}
	root := t.TempDir()
	disk := filepath.Join(root, "shared/gmax")
	gm := filepath.Join(disk, "GroupMail")
	for _, d := range []string{disk, filepath.Join(root, "var/opt")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	mount := func(dir string) {
		t.Helper()
		if out, err := osexec.Command("mount", "-t", "tmpfs", "-o", "size=1m", "mswizard-test", dir).CombinedOutput(); err != nil {
			t.Fatalf("mount tmpfs on %s: %v %s", dir, err, out)
		}
		t.Cleanup(func() { osexec.Command("umount", dir).Run() })
	}
	mount(disk)
	for _, d := range []string{"nxcdir", "mailbox"} {
		if err := os.MkdirAll(filepath.Join(gm, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(gm, "nxcdir/GM_ENV"), []byte("GM_ADMIN_UID=0\n"), 0o644)
	os.Symlink("..", filepath.Join(gm, "nxcdir/up"))
	if err := os.Symlink(gm, filepath.Join(root, "var/opt/GroupMail")); err != nil {
		t.Fatal(err)
	}
	var check wizard.Step
	for _, s := range buildSeed002Steps(t, "new", true, "root = "+root+"\n") {
		if s.ID() == "new/node2/check-shared" {
			check = s
		}
	}
	if check == nil {
		t.Fatal("no step new/node2/check-shared")
	}
	vog := filepath.Join(root, "var/opt/GroupMail")
	if out, err := runShippedStep(t, check); err != nil {
		t.Fatalf("a tree all on the shared disk: %v\n%s", err, out)
	}
	for _, tc := range []struct {
		name, want string
		make, undo func()
	}{
		{"a symbolic link to the node's own disk", vog + "/nxcdir/services: a symbolic link to /etc/services, which is not on the shared disk",
			func() { os.Symlink("/etc/services", filepath.Join(gm, "nxcdir/services")) }, func() { os.Remove(filepath.Join(gm, "nxcdir/services")) }},
		{"a symbolic link that leads nowhere", vog + "/mailbox/gone: a symbolic link to /nonexistent/mswizard",
			func() { os.Symlink("/nonexistent/mswizard", filepath.Join(gm, "mailbox/gone")) }, func() { os.Remove(filepath.Join(gm, "mailbox/gone")) }},
		{"another file system mounted below it", vog + "/mailbox: another file system is mounted here",
			func() { mount(filepath.Join(gm, "mailbox")) }, func() { osexec.Command("umount", filepath.Join(gm, "mailbox")).Run() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.make()
			defer tc.undo()
			out, err := runShippedStep(t, check)
			if err == nil {
				t.Fatalf("the check passed:\n%s", out)
			}
			if !strings.Contains(out, tc.want) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("the check does not name %q in its output and its error:\n%s\n%v", tc.want, out, err)
			}
		})
	}
}

// The seed's other warnings as the shipped checks, run on the control host
// with every node path under a temporary root: each passes on the state the
// seed asks for and stops the run, saying why, on another.
func TestSeed002WarningChecks(t *testing.T) {
	for _, tc := range []struct {
		name, setup, step string
		files             map[string]string // node path -> content ("" -> absent)
		ok                bool
		want              string
	}{
		{"an existing environment administered by root may be set up", "existing", "existing/node1/check-root-admin",
			map[string]string{"/var/opt/GroupMail/nxcdir/GM_ENV": "GM_SERVER_TYPE=MASTER\nGM_ADMIN_UID=0\n"}, true, "system administrator is root"},
		{"an existing environment administered by another user is refused", "existing", "existing/node1/check-root-admin",
			map[string]string{"/var/opt/GroupMail/nxcdir/GM_ENV": "GM_ADMIN_UID=105\n"}, false, "user ID 105, not root"},
		{"no GM_ENV is no existing environment", "existing", "existing/node1/check-root-admin",
			nil, false, "holds no existing Groupmax environment"},
		{"xodrc the same file on both nodes", "new", "new/node1/xodrc-same",
			map[string]string{"/opt/ObjectServer/etc/xodrc": "resiobj -s gmax -n 32\n", "/shared/gmax/.mswizard-xodrc.node2": "resiobj -s gmax -n 32\n"}, true, "is the same on node1 and node2"},
		{"xodrc differing in a line the resiobj grep never saw", "new", "new/node1/xodrc-same",
			map[string]string{"/opt/ObjectServer/etc/xodrc": "resiobj -s gmax -n 32\nset xod_port 20000\n", "/shared/gmax/.mswizard-xodrc.node2": "resiobj -s gmax -n 32\nset xod_port 20001\n"}, false, "set xod_port 20001"},
		{"node2's copy of xodrc missing", "new", "new/node1/xodrc-same",
			map[string]string{"/opt/ObjectServer/etc/xodrc": "resiobj -s gmax -n 32\n"}, false, "node2's copy of xodrc"},
		{"nxsrepstat returning 0", "existing", "existing/node1/nxsrepstat",
			map[string]string{"/opt/GroupMail/bin/nxsrepstat": "#!/bin/sh\necho reflected\nexit 0\n"}, true, "reflected (exit 0)"},
		{"nxsrepstat saying there are no transaction records", "existing", "existing/node1/nxsrepstat",
			map[string]string{"/opt/GroupMail/bin/nxsrepstat": "#!/bin/sh\necho トランザクションレコードなし\nexit 1\n"}, true, "reflected (exit 1)"},
		{"nxsrepstat with records pending keeps the gate shut", "existing", "existing/node1/nxsrepstat",
			map[string]string{"/opt/GroupMail/bin/nxsrepstat": "#!/bin/sh\necho 未反映のトランザクションレコードがあります。\nexit 3\n"}, false, "still reports records not reflected after 1 s (exit 3)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			for p, body := range tc.files {
				f := filepath.Join(root, p)
				if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(f, []byte(body), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			var step wizard.Step
			for _, s := range buildSeed002Steps(t, tc.setup, true, "root = "+root+"\nreplication_wait = 1\nreplication_interval = 1\n") {
				if s.ID() == tc.step {
					step = s
				}
			}
			if step == nil {
				t.Fatalf("no step %s", tc.step)
			}
			out, err := runShippedStep(t, step)
			if (err == nil) != tc.ok {
				t.Fatalf("passed %t, want %t: %v\n%s", err == nil, tc.ok, err, out)
			}
			if !strings.Contains(out, tc.want) {
				t.Errorf("the output does not say %q:\n%s", tc.want, out)
			}
		})
	}
}
