package node_test

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"

	"mswizard/fixtures/twonode"
	"mswizard/steps/node"
)

// requireWorld starts one two-node world for the package's tests (real sshd;
// root and openssh-server needed: the test fails naming them, or skips under
// -short).
func requireWorld(t *testing.T) *twonode.World {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: the SSH node tests start real sshd")
	}
	worldOnce.Do(func() {
		dir, err := os.MkdirTemp("", "mswizard-node-test-")
		if err != nil {
			worldErr = err
			return
		}
		worldDir = dir
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		world, worldErr = twonode.Up(ctx, twonode.Options{Dir: dir})
	})
	if worldErr != nil {
		t.Fatalf("two-node world: %v", worldErr)
	}
	return world
}

var (
	worldOnce sync.Once
	world     *twonode.World
	worldErr  error
	worldDir  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if world != nil {
		world.Down()
	}
	if worldDir != "" {
		os.RemoveAll(worldDir)
	}
	os.Exit(code)
}

func cfgFor(w *twonode.World, n *twonode.Node) node.Config {
	return node.Config{Name: n.Name, Address: n.Addr(), User: "root", KeyFile: w.ClientKey(),
		KnownHosts: w.KnownHosts(), ConnectTimeout: 10 * time.Second, KeepAlive: time.Second}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestSSHRefusesAHostKeyNotInKnownHostsBeforeAnyCommand(t *testing.T) {
	w := requireWorld(t)
	n := w.Nodes[0]
	other := w.Nodes[1]
	marker := filepath.Join(w.NodeRoot, "refused-marker")
	dir := t.TempDir()
	// node1's address listed with node2's key: a mismatch (a reinstalled host,
	// or someone in the middle).
	mismatch := filepath.Join(dir, "known_hosts.mismatch")
	line := strings.Replace(other.KnownHostsLine(), knownHostsHost(other), knownHostsHost(n), 1)
	os.WriteFile(mismatch, []byte(line+"\n"), 0o600)
	unknown := filepath.Join(dir, "known_hosts.unknown")
	os.WriteFile(unknown, []byte(other.KnownHostsLine()+"\n"), 0o600)

	for _, tc := range []struct {
		name, file, want string
	}{
		{"a different key for the host is a mismatch", mismatch, "HOST KEY MISMATCH"},
		{"a host not listed is unknown", unknown, "is not in"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := cfgFor(w, n)
			cfg.KnownHosts = tc.file
			s := node.NewSSH(cfg)
			defer s.Close()
			_, err := s.Run(ctxT(t), node.Command{Argv: []string{"touch", marker}})
			var he *node.HostKeyError
			if !errors.As(err, &he) {
				t.Fatalf("want a HostKeyError, got %v", err)
			}
			msg := err.Error()
			for _, want := range []string{tc.want, "node1", tc.file, ssh.FingerprintSHA256(n.HostKey), "refusing"} {
				if !strings.Contains(msg, want) {
					t.Errorf("error does not name %q: %s", want, msg)
				}
			}
			if _, err := s.ReadFile(ctxT(t), "/etc/hostname"); !errors.As(err, &he) {
				t.Errorf("file access after a refused key: %v", err)
			}
			if _, err := os.Stat(filepath.Join(n.Root, "refused-marker")); err == nil {
				t.Fatal("the command ran although the host key was refused")
			}
		})
	}
}

// knownHostsHost is the host field of a node's known_hosts line.
func knownHostsHost(n *twonode.Node) string { return strings.Fields(n.KnownHostsLine())[0] }

func TestSSHRunExitCodesOutputAndArguments(t *testing.T) {
	w := requireWorld(t)
	s := node.NewSSH(cfgFor(w, w.Nodes[0]))
	defer s.Close()
	ctx := ctxT(t)
	tricky := `it's $HOME "quoted" ; rm -rf / ` + "`x`"
	for _, tc := range []struct {
		name     string
		cmd      node.Command
		code     int
		wantOut  string
		exactOut bool
	}{
		{"exit 0 and stdout", node.Command{Argv: []string{"echo", "hello"}}, 0, "hello\n", true},
		// stdout and stderr are two SSH channels (RFC 4254 §5.2): their
		// lines reach the combined output in either order.
		{"a non-zero exit is a result, stdout and stderr both kept", node.Command{Argv: []string{"sh", "-c", "echo out; echo err >&2; exit 3"}}, 3, "err\nout\n", false},
		{"arguments reach the command verbatim, no shell", node.Command{Argv: []string{"printf", "%s|", tricky, ""}}, 0, tricky + "||", true},
		{"stdin is fed", node.Command{Argv: []string{"cat"}, Stdin: strings.NewReader("from stdin")}, 0, "from stdin", true},
		{"env is added", node.Command{Argv: []string{"sh", "-c", `echo "$A:$B"`}, Env: []string{"A=1", "B=two words"}}, 0, "1:two words\n", true},
		{"env values reach the command verbatim", node.Command{Argv: []string{"sh", "-c", `printf '%s|' "$T" "$E"`}, Env: []string{"T=" + tricky + ` \n\t  `, "E="}}, 0, tricky + ` \n\t  ||`, true},
		{"env and stdin together: the command reads its own stdin", node.Command{Argv: []string{"sh", "-c", `echo "$A"; cat`}, Env: []string{"A=x"}, Stdin: strings.NewReader("line 1\nline 2\n")}, 0, "x\nline 1\nline 2\n", true},
		{"env with dir", node.Command{Argv: []string{"sh", "-c", `echo "$A $(pwd)"`}, Env: []string{"A=here"}, Dir: w.NodeRoot}, 0, "here " + w.NodeRoot + "\n", true},
		{"dir is the working directory", node.Command{Argv: []string{"pwd"}, Dir: w.NodeRoot}, 0, w.NodeRoot + "\n", true},
		{"the node's environment names it", node.Command{Argv: []string{"sh", "-c", `echo "$NODE_NAME"`}}, 0, "node1\n", true},
		{"a missing command is exit 127", node.Command{Argv: []string{"/no/such/command"}}, 127, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := s.Run(ctx, tc.cmd)
			if err != nil {
				t.Fatal(err)
			}
			if r.ExitCode != tc.code || r.Node != "node1" {
				t.Errorf("exit %d on %q, want %d on node1 (output %q)", r.ExitCode, r.Node, tc.code, r.Output)
			}
			if tc.exactOut && string(r.Output) != tc.wantOut {
				t.Errorf("output %q, want %q", r.Output, tc.wantOut)
			}
			if !tc.exactOut && tc.wantOut != "" {
				got := strings.SplitAfter(string(r.Output), "\n")
				slices.Sort(got)
				if strings.Join(got, "") != tc.wantOut {
					t.Errorf("output lines %q, want the lines of %q in any order", r.Output, tc.wantOut)
				}
			}
		})
	}
	t.Run("a timeout stops the command and is an error", func(t *testing.T) {
		start := time.Now()
		_, err := s.Run(ctx, node.Command{Argv: []string{"sleep", "30"}, Timeout: 300 * time.Millisecond})
		if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 10*time.Second {
			t.Fatalf("err %v after %v", err, time.Since(start))
		}
		var se *node.StoppedError
		if !errors.As(err, &se) || !se.OutcomeUnknown() {
			t.Errorf("a command stopped by its timeout is not in doubt: %v", err)
		}
		if r, err := s.Run(ctx, node.Command{Argv: []string{"true"}}); err != nil || r.ExitCode != 0 {
			t.Fatalf("the next command: %v %v", r, err)
		}
	})
}

// A secret in a command's environment never reaches an argv on the node:
// while the command runs, no /proc/PID/cmdline holds it (the fixture's nodes
// are processes of this machine, so the test reads the node's process table
// directly), and the result the receipt is made from does not carry it.
func TestSSHEnvNeverReachesTheNodesProcessList(t *testing.T) {
	w := requireWorld(t)
	s := node.NewSSH(cfgFor(w, w.Nodes[1]))
	defer s.Close()
	ctx := ctxT(t)
	secret := "s3cr3t-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	marker := filepath.Join(t.TempDir(), "running")
	type outcome struct {
		r   node.Result
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		r, err := s.Run(ctx, node.Command{Argv: []string{"sh", "-c", `: > "$1"; sleep 2; [ "$GM_PASSWORD" = "$2" ] && echo same`, "sh", marker, "x"},
			Env: []string{"GM_PASSWORD=" + secret}})
		done <- outcome{r, err}
	}()
	seen, scans := false, 0
	for {
		select {
		case o := <-done:
			if o.err != nil {
				t.Fatal(o.err)
			}
			if !seen || scans == 0 {
				t.Fatalf("the process table was never read while the command ran (marker seen %t, %d scans)", seen, scans)
			}
			if o.r.ExitCode != 1 || strings.Contains(string(o.r.Output), "same") {
				// "x" differs from the secret: the comparison ran and failed.
				t.Errorf("exit %d output %q", o.r.ExitCode, o.r.Output)
			}
			for _, a := range o.r.Argv {
				if strings.Contains(a, secret) {
					t.Errorf("the result's argv holds the secret: %q", o.r.Argv)
				}
			}
			return
		case <-time.After(50 * time.Millisecond):
		}
		if _, err := os.Stat(marker); err != nil {
			continue
		}
		seen = true
		scans++
		procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
		for _, p := range procs {
			b, err := os.ReadFile(p)
			if err == nil && bytes.Contains(b, []byte(secret)) {
				t.Fatalf("%s holds the secret: %q", p, bytes.ReplaceAll(b, []byte{0}, []byte{' '}))
			}
		}
	}
}

func TestSSHEnvThatCannotTravelIsRefusedBeforeConnecting(t *testing.T) {
	// No world: the node's address is never dialled.
	s := node.NewSSH(node.Config{Name: "n", Address: "127.0.0.1:1", User: "root", KeyFile: "/nonexistent", KnownHosts: "/nonexistent"})
	for _, env := range []string{"A=two\nlines", "1A=x", "NOEQUALS"} {
		_, err := s.Run(context.Background(), node.Command{Argv: []string{"true"}, Env: []string{env}})
		if err == nil || strings.Contains(err.Error(), "lines") || strings.Contains(err.Error(), "connect") {
			t.Errorf("env %q: %v, want a refusal naming the variable without its value, before any connection", env, err)
		}
	}
}

func TestSSHFiles(t *testing.T) {
	w := requireWorld(t)
	n := w.Nodes[1]
	s := node.NewSSH(cfgFor(w, n))
	defer s.Close()
	ctx := ctxT(t)
	base := filepath.Join(w.NodeRoot, "files-test")
	host := filepath.Join(n.Root, "files-test") // the same directory seen from the control host
	os.RemoveAll(host)
	t.Cleanup(func() { os.RemoveAll(host) })

	if err := s.Mkdir(ctx, base, 0o750); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(host); err != nil || fi.Mode().Perm() != 0o750 {
		t.Fatalf("mkdir on the node did not make %s 0750: %v %v", host, fi, err)
	}
	if err := s.Mkdir(ctx, base, 0o750); !errors.Is(err, fs.ErrExist) {
		t.Errorf("mkdir of an existing directory: %v, want fs.ErrExist", err)
	}
	f := base + "/services"
	if _, err := s.ReadFile(ctx, f); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("read of a missing file: %v, want fs.ErrNotExist", err)
	}
	if _, err := s.Lstat(ctx, f); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("lstat of a missing file: %v, want fs.ErrNotExist", err)
	}
	// A temporary file left by a control host killed mid-write is replaced by
	// the next write, not left beside the target.
	if err := os.WriteFile(filepath.Join(host, ".services.mswizard-tmp"), []byte("stale, half written"), 0o600); err != nil {
		t.Fatal(err)
	}
	for i, content := range []string{"first\n", "second, longer than the first\n", ""} {
		if err := s.WriteFile(ctx, f, []byte(content), 0o640); err != nil {
			t.Fatal(err)
		}
		got, err := s.ReadFile(ctx, f)
		if err != nil || string(got) != content {
			t.Fatalf("write %d: read back %q, %v", i, got, err)
		}
		if fi, _ := os.Stat(filepath.Join(host, "services")); fi.Mode().Perm() != 0o640 {
			t.Errorf("mode %v, want 0640", fi.Mode())
		}
	}
	if ents, _ := os.ReadDir(host); len(ents) != 1 {
		t.Errorf("temporary files left beside the target: %v", ents)
	}
	if err := s.Chmod(ctx, f, 0o600); err != nil {
		t.Fatal(err)
	}
	if fi, err := s.Lstat(ctx, f); err != nil || fi.Mode().Perm() != 0o600 || fi.Size() != 0 {
		t.Errorf("lstat after chmod: %v %v", fi, err)
	}
	if err := s.Chown(ctx, f, 0, 3); err != nil { // root:sys
		t.Fatal(err)
	}
	if uid, gid, err := s.Owner(ctx, f); err != nil || uid != 0 || gid != 3 {
		t.Errorf("owner %d:%d %v, want 0:3", uid, gid, err)
	}
	link := base + "/GroupMail"
	if err := s.Symlink(ctx, "/shared/gmax/GroupMail", link); err != nil {
		t.Fatal(err)
	}
	if got, err := os.Readlink(filepath.Join(host, "GroupMail")); err != nil || got != "/shared/gmax/GroupMail" {
		t.Fatalf("symlink on the node: %q %v (target and link swapped?)", got, err)
	}
	if got, err := s.ReadLink(ctx, link); err != nil || got != "/shared/gmax/GroupMail" {
		t.Errorf("readlink %q %v", got, err)
	}
	if fi, err := s.Lstat(ctx, link); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		t.Errorf("lstat follows the link: %v %v", fi, err)
	}
	if err := s.Symlink(ctx, "/elsewhere", link); !errors.Is(err, fs.ErrExist) {
		t.Errorf("symlink over an existing path: %v, want fs.ErrExist", err)
	}
	// chown of a dangling symlink changes the link itself (chown -h).
	if err := s.Chown(ctx, link, 2, 3); err != nil {
		t.Fatal(err)
	}
	if uid, gid, err := s.Owner(ctx, link); err != nil || uid != 2 || gid != 3 {
		t.Errorf("link owner %d:%d %v, want 2:3", uid, gid, err)
	}
	if err := s.Rename(ctx, f, base+"/services.orig"); err != nil {
		t.Fatal(err)
	}
	if err := s.WriteFile(ctx, f, []byte("new"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := s.Rename(ctx, base+"/services.orig", f); err != nil {
		t.Fatalf("rename over an existing file: %v", err)
	}
	if err := s.Remove(ctx, base); !errors.Is(err, syscall.ENOTEMPTY) {
		t.Errorf("remove of a non-empty directory: %v, want ENOTEMPTY", err)
	}
	for _, p := range []string{f, link, base} {
		if err := s.Remove(ctx, p); err != nil {
			t.Fatalf("remove %s: %v", p, err)
		}
	}
	if _, err := os.Lstat(host); !os.IsNotExist(err) {
		t.Errorf("%s still there: %v", host, err)
	}
}

func TestSSHLostConnectionIsInDoubtAndTheNextCallReconnects(t *testing.T) {
	w := requireWorld(t)
	n := w.Nodes[1]
	s := node.NewSSH(cfgFor(w, n))
	defer s.Close()
	ctx := ctxT(t)
	if r, err := s.Run(ctx, node.Command{Argv: []string{"true"}}); err != nil || r.ExitCode != 0 {
		t.Fatalf("warm-up: %v %v", r, err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := s.Run(ctx, node.Command{Argv: []string{"sleep", "30"}})
		done <- err
	}()
	// Wait until the command runs on the node, then kill its sshd.
	deadline := time.Now().Add(10 * time.Second)
	for !hasSleep(n) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if err := n.KillSSHD(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, node.ErrConnectionLost) {
			t.Fatalf("a command whose connection died: %v, want ErrConnectionLost", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the command did not notice its connection died")
	}
	// While the node is down, a call fails (connect refused), not in doubt.
	if _, err := s.Run(ctx, node.Command{Argv: []string{"true"}}); err == nil || errors.Is(err, node.ErrConnectionLost) {
		t.Fatalf("a call to a node that is down: %v", err)
	}
	if err := n.StartSSHD(ctx); err != nil {
		t.Fatal(err)
	}
	if r, err := s.Run(ctx, node.Command{Argv: []string{"echo", "back"}}); err != nil || string(r.Output) != "back\n" {
		t.Fatalf("after the sshd restart: %q %v", r.Output, err)
	}
	// A file operation whose connection died is in doubt too.
	if err := n.KillSSHD(); err != nil {
		t.Fatal(err)
	}
	_, err := s.ReadFile(ctx, "/etc/hostname")
	if err == nil {
		t.Fatal("read from a node that is down succeeded")
	}
	if err := n.StartSSHD(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Lstat(ctx, w.NodeRoot); err != nil {
		t.Fatalf("sftp after the sshd restart: %v", err)
	}
}

func hasSleep(n *twonode.Node) bool {
	for _, p := range n.SSHDChildren() {
		b, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(p), "cmdline"))
		if bytes.HasPrefix(b, []byte("sleep\x0030")) {
			return true
		}
	}
	return false
}

func TestSSHAgentAuthentication(t *testing.T) {
	w := requireWorld(t)
	pem, err := os.ReadFile(w.ClientKey())
	if err != nil {
		t.Fatal(err)
	}
	key, err := ssh.ParseRawPrivateKey(pem)
	if err != nil {
		t.Fatal(err)
	}
	keyring := agent.NewKeyring()
	if err := keyring.Add(agent.AddedKey{PrivateKey: key}); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(t.TempDir(), "agent.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() { agent.ServeAgent(keyring, c); c.Close() }()
		}
	}()
	cfg := cfgFor(w, w.Nodes[0])
	cfg.KeyFile, cfg.Agent = "", true
	s := node.NewSSH(cfg, node.WithGetenv(func(k string) string {
		if k == "SSH_AUTH_SOCK" {
			return sock
		}
		return ""
	}))
	defer s.Close()
	if r, err := s.Run(ctxT(t), node.Command{Argv: []string{"id", "-u"}}); err != nil || string(r.Output) != "0\n" {
		t.Fatalf("agent auth: %q %v", r.Output, err)
	}
	noAgent := node.NewSSH(cfg, node.WithGetenv(func(string) string { return "" }))
	if _, err := noAgent.Run(ctxT(t), node.Command{Argv: []string{"true"}}); err == nil || !strings.Contains(err.Error(), "SSH_AUTH_SOCK") {
		t.Fatalf("agent=yes without SSH_AUTH_SOCK: %v", err)
	}
}
