package node

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
	"golang.org/x/crypto/ssh/knownhosts"
)

// SSH is a node reached over SSH (RFC 4254): a session per command, files
// through SFTP over the same connection. Only POSIX commands and a POSIX
// login shell are assumed on the node (seed 002's HP-UX nodes run no Go).
//
// The host key is always checked against the configured known_hosts file
// before anything is sent: an unknown or different key refuses the
// connection. A connection found dead is dialled again on the next call; an
// operation the connection broke under returns an error wrapping
// ErrConnectionLost, because its effect on the node is unknown.
type SSH struct {
	cfg    Config
	dialer Dialer
	getenv func(string) string

	mu   sync.Mutex
	conn *sshConn
}

// Dialer opens the TCP connection to a node (net.Dialer in production).
type Dialer interface {
	DialContext(ctx context.Context, network, address string) (net.Conn, error)
}

// SSHOption adjusts an SSH node.
type SSHOption func(*SSH)

// WithDialer replaces the TCP dialer.
func WithDialer(d Dialer) SSHOption { return func(s *SSH) { s.dialer = d } }

// WithGetenv replaces os.Getenv (for SSH_AUTH_SOCK).
func WithGetenv(f func(string) string) SSHOption { return func(s *SSH) { s.getenv = f } }

// NewSSH returns the node; it connects on first use.
func NewSSH(cfg Config, opts ...SSHOption) *SSH {
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = 15 * time.Second
	}
	if cfg.KeepAlive <= 0 {
		cfg.KeepAlive = 15 * time.Second
	}
	s := &SSH{cfg: cfg, dialer: &net.Dialer{}, getenv: os.Getenv}
	for _, o := range opts {
		o(s)
	}
	return s
}

var _ Node = (*SSH)(nil)

// Name is the node's name from the answers.
func (s *SSH) Name() string { return s.cfg.Name }

// sshConn is one live connection and its SFTP client.
type sshConn struct {
	client *ssh.Client
	sftp   *sftp.Client
	dead   chan struct{} // closed when the transport is gone
}

func (c *sshConn) isDead() bool {
	select {
	case <-c.dead:
		return true
	default:
		return false
	}
}

// HostKeyError is a host key the known_hosts file does not vouch for.
type HostKeyError struct {
	Node        string
	Address     string
	KnownHosts  string
	Fingerprint string // SHA256 of the key the node offered
	KeyType     string
	Want        []string // "file:line" entries for this host with other keys; empty when unknown
	Revoked     bool
}

func (e *HostKeyError) Error() string {
	switch {
	case e.Revoked:
		return fmt.Sprintf("node %s (%s): host key %s %s is marked @revoked in %s; refusing to connect",
			e.Node, e.Address, e.KeyType, e.Fingerprint, e.KnownHosts)
	case len(e.Want) == 0:
		return fmt.Sprintf("node %s (%s): host key %s %s is not in %s; refusing to connect before any command runs. "+
			"Check the fingerprint on the node's console (ssh-keygen -lf on its host key), then add the key to %s",
			e.Node, e.Address, e.KeyType, e.Fingerprint, e.KnownHosts, e.KnownHosts)
	default:
		return fmt.Sprintf("node %s (%s): HOST KEY MISMATCH: the node offered %s %s but %s has a different key for it (%s); "+
			"refusing to connect before any command runs (the host may have been reinstalled, or someone is intercepting the connection)",
			e.Node, e.Address, e.KeyType, e.Fingerprint, e.KnownHosts, strings.Join(e.Want, ", "))
	}
}

// hostKeyCallback checks keys against the node's known_hosts only.
func (s *SSH) hostKeyCallback() (ssh.HostKeyCallback, []string, error) {
	if s.cfg.KnownHosts == "" {
		return nil, nil, fmt.Errorf("node %s: no known_hosts file configured; host keys are always checked", s.cfg.Name)
	}
	cb, err := knownhosts.New(s.cfg.KnownHosts)
	if err != nil {
		return nil, nil, fmt.Errorf("node %s: known_hosts %s: %w", s.cfg.Name, s.cfg.KnownHosts, err)
	}
	// Offer only the key types known_hosts has for this host, so a host with an
	// ed25519 entry is not asked for (and refused over) its ecdsa key.
	var algos []string
	probe := cb(knownhosts.Normalize(s.cfg.Address), probeAddr{}, probeKey{})
	var ke *knownhosts.KeyError
	if errors.As(probe, &ke) {
		for _, w := range ke.Want {
			algos = append(algos, algorithmsFor(w.Key.Type())...)
		}
	}
	check := func(hostname string, remote net.Addr, key ssh.PublicKey) error {
		err := cb(hostname, remote, key)
		if err == nil {
			return nil
		}
		he := &HostKeyError{Node: s.cfg.Name, Address: s.cfg.Address, KnownHosts: s.cfg.KnownHosts,
			Fingerprint: ssh.FingerprintSHA256(key), KeyType: key.Type()}
		var ke *knownhosts.KeyError
		var re *knownhosts.RevokedError
		switch {
		case errors.As(err, &re):
			he.Revoked = true
		case errors.As(err, &ke):
			for _, w := range ke.Want {
				he.Want = append(he.Want, fmt.Sprintf("%s:%d %s %s", w.Filename, w.Line, w.Key.Type(), ssh.FingerprintSHA256(w.Key)))
			}
		default:
			return fmt.Errorf("node %s: host key check against %s: %w", s.cfg.Name, s.cfg.KnownHosts, err)
		}
		return he
	}
	return check, dedupe(algos), nil
}

func algorithmsFor(keyType string) []string {
	if keyType == ssh.KeyAlgoRSA {
		return []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}
	}
	return []string{keyType}
}

func dedupe(xs []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, x := range xs {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

// probeKey is a key no known_hosts line holds; checking it lists the host's keys.
type probeKey struct{}

func (probeKey) Type() string                        { return "mswizard-probe" }
func (probeKey) Marshal() []byte                     { return []byte("mswizard-probe") }
func (probeKey) Verify([]byte, *ssh.Signature) error { return errors.New("probe") }

// probeAddr is the remote address the probe pretends to come from.
type probeAddr struct{}

func (probeAddr) Network() string { return "tcp" }
func (probeAddr) String() string  { return "0.0.0.0:0" }

// auth returns the configured authentication: a key file or the agent.
// Passwords are not supported, so none can reach argv or the journal.
func (s *SSH) auth() ([]ssh.AuthMethod, func(), error) {
	if s.cfg.Agent {
		sock := s.getenv("SSH_AUTH_SOCK")
		if sock == "" {
			return nil, nil, fmt.Errorf("node %s: agent=yes but SSH_AUTH_SOCK is not set; start ssh-agent and ssh-add the key", s.cfg.Name)
		}
		c, err := net.Dial("unix", sock)
		if err != nil {
			return nil, nil, fmt.Errorf("node %s: ssh-agent at SSH_AUTH_SOCK: %w", s.cfg.Name, err)
		}
		ag := agent.NewClient(c)
		return []ssh.AuthMethod{ssh.PublicKeysCallback(ag.Signers)}, func() { c.Close() }, nil
	}
	pem, err := os.ReadFile(s.cfg.KeyFile)
	if err != nil {
		return nil, nil, fmt.Errorf("node %s: key: %w", s.cfg.Name, err)
	}
	signer, err := ssh.ParsePrivateKey(pem)
	if err != nil {
		var pp *ssh.PassphraseMissingError
		if errors.As(err, &pp) {
			return nil, nil, fmt.Errorf("node %s: key %s is protected by a passphrase; load it into ssh-agent (ssh-add %s) and use agent=yes",
				s.cfg.Name, s.cfg.KeyFile, s.cfg.KeyFile)
		}
		return nil, nil, fmt.Errorf("node %s: key %s: %w", s.cfg.Name, s.cfg.KeyFile, err)
	}
	return []ssh.AuthMethod{ssh.PublicKeys(signer)}, func() {}, nil
}

// connect returns the live connection, dialling a new one when there is none
// or the last one died.
func (s *SSH) connect(ctx context.Context) (*sshConn, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn != nil && !s.conn.isDead() {
		return s.conn, nil
	}
	if s.conn != nil {
		s.conn.close()
		s.conn = nil
	}
	cb, algos, err := s.hostKeyCallback()
	if err != nil {
		return nil, err
	}
	methods, release, err := s.auth()
	if err != nil {
		return nil, err
	}
	defer release()
	cctx, cancel := context.WithTimeout(ctx, s.cfg.ConnectTimeout)
	defer cancel()
	raw, err := s.dialer.DialContext(cctx, "tcp", s.cfg.Address)
	if err != nil {
		return nil, fmt.Errorf("node %s: connect %s: %w", s.cfg.Name, s.cfg.Address, err)
	}
	// The handshake obeys ctx and the connect timeout through the deadline.
	if dl, ok := cctx.Deadline(); ok {
		raw.SetDeadline(dl)
	}
	stop := context.AfterFunc(cctx, func() { raw.SetDeadline(time.Unix(1, 0)) })
	cc, chans, reqs, err := ssh.NewClientConn(raw, s.cfg.Address, &ssh.ClientConfig{
		User:              s.cfg.User,
		Auth:              methods,
		HostKeyCallback:   cb,
		HostKeyAlgorithms: algos,
		Timeout:           s.cfg.ConnectTimeout,
	})
	stop()
	if err != nil {
		raw.Close()
		var he *HostKeyError
		if errors.As(err, &he) {
			return nil, he
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("node %s: ssh handshake with %s: %w", s.cfg.Name, s.cfg.Address, ctx.Err())
		}
		return nil, fmt.Errorf("node %s: ssh handshake with %s as %s: %w", s.cfg.Name, s.cfg.Address, s.cfg.User, err)
	}
	raw.SetDeadline(time.Time{})
	client := ssh.NewClient(cc, chans, reqs)
	c := &sshConn{client: client, dead: make(chan struct{})}
	go func() { client.Wait(); close(c.dead) }()
	go keepAlive(client, c.dead, s.cfg.KeepAlive)
	sc, err := sftp.NewClient(client)
	if err != nil {
		client.Close()
		return nil, fmt.Errorf("node %s: sftp subsystem: %w (the node's sshd needs a Subsystem sftp line)", s.cfg.Name, err)
	}
	c.sftp = sc
	s.conn = c
	return c, nil
}

// Connect dials the node now, if it is not connected: the TCP connection,
// the host key checked against known_hosts, authentication and the SFTP
// subsystem; nothing runs on the node. A run calls it for every node before
// its first action, so a refused or unreachable node stops the run before any
// other node was changed. The connection stays for the commands that follow.
func (s *SSH) Connect(ctx context.Context) error {
	_, err := s.connect(ctx)
	return err
}

// Config is the node as the answers name it.
func (s *SSH) Config() Config { return s.cfg }

// keepAlive closes the client when the peer stops answering, so a command
// running on a node that vanished (no FIN, no RST) is noticed as lost.
func keepAlive(client *ssh.Client, dead <-chan struct{}, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-dead:
			return
		case <-t.C:
		}
		reply := make(chan error, 1)
		go func() {
			_, _, err := client.SendRequest("keepalive@openssh.com", true, nil)
			reply <- err
		}()
		select {
		case <-dead:
			return
		case err := <-reply:
			if err != nil {
				client.Close()
				return
			}
		case <-time.After(3 * every):
			client.Close()
			return
		}
	}
}

func (c *sshConn) close() {
	if c.sftp != nil {
		c.sftp.Close()
	}
	c.client.Close()
}

// Close closes the connection; a later call dials again.
func (s *SSH) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn != nil {
		s.conn.close()
		s.conn = nil
	}
	return nil
}

// lost wraps err as ErrConnectionLost when the connection is gone (waiting
// briefly: the transport's end may be noticed just after the failed request).
func (s *SSH) lost(c *sshConn, op string, err error) error {
	select {
	case <-c.dead:
	case <-time.After(300 * time.Millisecond):
		if !isTransportError(err) {
			return fmt.Errorf("node %s: %s: %w", s.cfg.Name, op, err)
		}
		c.client.Close()
	}
	return &LostError{Node: s.cfg.Name, Op: op, Cause: err}
}

// LostError is an operation whose connection broke before its outcome was
// known. It wraps ErrConnectionLost, and says OutcomeUnknown so the engine
// leaves the action in doubt (resolved by its check or the operator) rather
// than failed and retried blindly.
type LostError struct {
	Node, Op string
	Cause    error
}

func (e *LostError) Error() string {
	return fmt.Sprintf("node %s: %s: %v (%v)", e.Node, e.Op, ErrConnectionLost, e.Cause)
}

// Unwrap gives ErrConnectionLost (not the transport's own error, which could
// read as an answer from the node).
func (e *LostError) Unwrap() error { return ErrConnectionLost }

// OutcomeUnknown marks the action in doubt (wizard.OutcomeUnknown).
func (e *LostError) OutcomeUnknown() bool { return true }

// StoppedError is an operation its timeout or ctx ended while it ran on the
// node (a command is sent SIGKILL, RFC 4254 §6.9): what it had done by then is
// unknown, so it is in doubt too. It wraps the context's error.
type StoppedError struct {
	Node, Op string
	Cause    error
}

func (e *StoppedError) Error() string {
	return fmt.Sprintf("node %s: %s: %v (stopped while it ran; its effect on the node is unknown)", e.Node, e.Op, e.Cause)
}

// Unwrap gives context.DeadlineExceeded or context.Canceled.
func (e *StoppedError) Unwrap() error { return e.Cause }

// OutcomeUnknown marks the action in doubt (wizard.OutcomeUnknown).
func (e *StoppedError) OutcomeUnknown() bool { return true }

// isTransportError says whether err comes from the connection rather than
// from the node's answer. (Not net.Error: a syscall.Errno satisfies it.)
func isTransportError(err error) bool {
	var oe *net.OpError
	var me *ssh.ExitMissingError
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, sftp.ErrSSHFxConnectionLost) || errors.As(err, &oe) || errors.As(err, &me)
}

// ShellQuote quotes s for a POSIX shell: the remote side hands an exec
// request's string to the user's login shell (RFC 4254 §6.5), so every
// argument is single-quoted and nothing in it is interpreted.
func ShellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+@%") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// commandLine is the string sent in the exec request, and what goes to the
// command's stdin before c.Stdin. The request's string is visible in the
// node's process list (the login shell's argv, ps -ef) and sshd accepts only
// the variables its AcceptEnv lists (HP-UX's sshd_config accepts none by
// default), so c.Env travels on stdin instead: one value line per variable,
// read into its name by the shell's own read and export builtins (POSIX shells
// read a pipe a byte at a time for read, so the command gets the rest of
// stdin untouched), then exec. A value is never in any argv on the node.
func commandLine(c Command) (string, string, error) {
	var b, in strings.Builder
	if c.Dir != "" {
		b.WriteString("cd " + ShellQuote(c.Dir) + " && ")
	}
	for _, e := range c.Env {
		name, value, ok := strings.Cut(e, "=")
		if !ok || !envName.MatchString(name) {
			return "", "", fmt.Errorf("environment entry %q: write NAME=VALUE with a shell variable name", redactEnv(e))
		}
		if strings.ContainsAny(value, "\n\x00") {
			return "", "", fmt.Errorf("environment variable %s: a value with a newline or NUL cannot be passed to a node (give it through stdin or a file)", name)
		}
		// read into the checked name, then `export NAME`: the Bourne form,
		// where `export NAME=VALUE` is POSIX-only.
		b.WriteString("IFS= read -r " + name + " && export " + name + " && ")
		in.WriteString(value + "\n")
	}
	b.WriteString("exec ")
	for i, a := range c.Argv {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(ShellQuote(a))
	}
	return b.String(), in.String(), nil
}

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// redactEnv names an environment entry without its value.
func redactEnv(e string) string {
	name, _, _ := strings.Cut(e, "=")
	return name + "=…"
}

type capBuffer struct {
	mu        sync.Mutex
	buf       bytes.Buffer
	truncated bool
}

func (b *capBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := maxOutput - b.buf.Len(); len(p) > room {
		// Keep the tail: drop the oldest bytes.
		b.truncated = true
		all := append(b.buf.Bytes(), p...)
		b.buf.Reset()
		b.buf.Write(all[len(all)-maxOutput:])
		return len(p), nil
	}
	return b.buf.Write(p)
}

// Run runs c.Argv in a new session. A non-zero exit is a Result; a lost
// connection, or a session that ended without an exit status, is an error
// wrapping ErrConnectionLost (the command may or may not have run).
func (s *SSH) Run(ctx context.Context, c Command) (Result, error) {
	res := Result{Node: s.cfg.Name, Argv: c.Argv, ExitCode: -1}
	if len(c.Argv) == 0 {
		return res, fmt.Errorf("node %s: run: empty command", s.cfg.Name)
	}
	if c.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.Timeout)
		defer cancel()
	}
	line, env, err := commandLine(c)
	if err != nil {
		return res, fmt.Errorf("node %s: run %s: %w", s.cfg.Name, c.Argv[0], err)
	}
	conn, sess, err := s.session(ctx)
	if err != nil {
		return res, err
	}
	defer sess.Close()
	var out capBuffer
	sess.Stdout, sess.Stderr = &out, &out
	switch {
	case env != "" && c.Stdin != nil:
		sess.Stdin = io.MultiReader(strings.NewReader(env), c.Stdin)
	case env != "":
		sess.Stdin = strings.NewReader(env)
	case c.Stdin != nil:
		sess.Stdin = c.Stdin
	}
	start := time.Now()
	if err := sess.Start(line); err != nil {
		return res, s.lost(conn, "run "+c.Argv[0], err)
	}
	done := make(chan error, 1)
	go func() { done <- sess.Wait() }()
	select {
	case err = <-done:
	case <-ctx.Done():
		// RFC 4254 §6.9 signal; then the channel is closed. Whether the
		// command had done its work is unknown.
		sess.Signal(ssh.SIGKILL)
		sess.Close()
		res.Duration = time.Since(start)
		res.Output = out.buf.Bytes()
		return res, &StoppedError{Node: s.cfg.Name, Op: "run " + c.Argv[0], Cause: ctx.Err()}
	}
	res.Duration = time.Since(start)
	out.mu.Lock()
	res.Output = append([]byte(nil), out.buf.Bytes()...)
	out.mu.Unlock()
	var ee *ssh.ExitError
	switch {
	case err == nil:
		res.ExitCode = 0
		return res, nil
	case errors.As(err, &ee):
		res.ExitCode = ee.ExitStatus()
		if ee.Signal() != "" && res.ExitCode == 0 {
			res.ExitCode = 128
		}
		return res, nil
	default:
		return res, s.lost(conn, "run "+c.Argv[0], err)
	}
}

// session opens a session, dialling again once when the connection turns out
// to be dead before anything was sent (safe: no command has started).
func (s *SSH) session(ctx context.Context) (*sshConn, *ssh.Session, error) {
	for attempt := 0; ; attempt++ {
		conn, err := s.connect(ctx)
		if err != nil {
			return nil, nil, err
		}
		sess, err := conn.client.NewSession()
		if err == nil {
			return conn, sess, nil
		}
		if attempt == 0 {
			conn.client.Close()
			<-conn.dead
			continue
		}
		return nil, nil, fmt.Errorf("node %s: open session: %w", s.cfg.Name, err)
	}
}

// files runs op on the SFTP client, dialling again once when the connection
// is dead before the request is sent, and marking a loss during op as
// ErrConnectionLost. ctx ends the wait (the request's effect is then unknown).
func (s *SSH) files(ctx context.Context, op, p string, fn func(*sftp.Client) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("node %s: %s %s: %w", s.cfg.Name, op, p, err)
	}
	conn, err := s.connect(ctx)
	if err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- fn(conn.sftp) }()
	select {
	case err = <-done:
	case <-ctx.Done():
		return &StoppedError{Node: s.cfg.Name, Op: op + " " + p, Cause: ctx.Err()}
	}
	if err == nil {
		return nil
	}
	if conn.isDead() || isTransportError(err) {
		return s.lost(conn, op+" "+p, err)
	}
	return &fs.PathError{Op: s.cfg.Name + ": " + op, Path: p, Err: err}
}

// ReadFile reads path on the node.
func (s *SSH) ReadFile(ctx context.Context, p string) ([]byte, error) {
	var data []byte
	err := s.files(ctx, "read", p, func(c *sftp.Client) error {
		f, err := c.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		data, err = io.ReadAll(f)
		return err
	})
	return data, err
}

// WriteFile writes a temporary file beside path, syncs it where the server
// offers fsync@openssh.com, and renames it over path with
// posix-rename@openssh.com (an atomic rename(2)); a server without that
// extension gets plain SSH_FXP_RENAME, which refuses an existing target, so
// the target is removed first and the window is reported in the error if the
// rename then fails. The temporary file's name is fixed per target
// (.NAME.mswizard-tmp), so one left by a control host killed mid-write is
// overwritten by the rerun's write, not left behind.
func (s *SSH) WriteFile(ctx context.Context, p string, data []byte, perm fs.FileMode) error {
	tmp := path.Join(path.Dir(p), "."+path.Base(p)+".mswizard-tmp")
	return s.files(ctx, "write", p, func(c *sftp.Client) error {
		f, err := c.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC)
		if err != nil {
			return err
		}
		_, werr := f.Write(data)
		if werr == nil {
			werr = f.Chmod(perm.Perm())
		}
		if werr == nil {
			if _, ok := c.HasExtension("fsync@openssh.com"); ok {
				werr = f.Sync()
			}
		}
		if cerr := f.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			c.Remove(tmp)
			return werr
		}
		if _, ok := c.HasExtension("posix-rename@openssh.com"); ok {
			err = c.PosixRename(tmp, p)
		} else {
			if rerr := c.Remove(p); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
				err = rerr
			} else if err = c.Rename(tmp, p); err != nil {
				err = fmt.Errorf("%w (the old file was removed first; the new content is in %s)", err, tmp)
				return err
			}
		}
		if err != nil {
			c.Remove(tmp)
		}
		return err
	})
}

// Lstat reports on path without following a final symlink.
func (s *SSH) Lstat(ctx context.Context, p string) (fs.FileInfo, error) {
	var fi fs.FileInfo
	err := s.files(ctx, "lstat", p, func(c *sftp.Client) (err error) {
		fi, err = c.Lstat(p)
		return err
	})
	return fi, err
}

// Owner returns the numeric owner of path (not following a final symlink).
func (s *SSH) Owner(ctx context.Context, p string) (int, int, error) {
	fi, err := s.Lstat(ctx, p)
	if err != nil {
		return -1, -1, err
	}
	st, ok := fi.Sys().(*sftp.FileStat)
	if !ok {
		return -1, -1, fmt.Errorf("node %s: owner %s: the server sent no uid/gid", s.cfg.Name, p)
	}
	return int(st.UID), int(st.GID), nil
}

// ReadLink returns a symlink's target.
func (s *SSH) ReadLink(ctx context.Context, p string) (string, error) {
	var t string
	err := s.files(ctx, "readlink", p, func(c *sftp.Client) (err error) {
		t, err = c.ReadLink(p)
		return err
	})
	return t, err
}

// Symlink makes path a symlink to target.
func (s *SSH) Symlink(ctx context.Context, target, p string) error {
	return s.files(ctx, "symlink", p, func(c *sftp.Client) error {
		if err := c.Symlink(target, p); err != nil {
			if _, lerr := c.Lstat(p); lerr == nil {
				return fmt.Errorf("%w: %v", fs.ErrExist, err)
			}
			return err
		}
		return nil
	})
}

// Mkdir makes a directory with perm (the server's umask is undone by a chmod).
func (s *SSH) Mkdir(ctx context.Context, p string, perm fs.FileMode) error {
	return s.files(ctx, "mkdir", p, func(c *sftp.Client) error {
		if err := c.Mkdir(p); err != nil {
			// OpenSSH answers SSH_FX_FAILURE for an existing path.
			if _, lerr := c.Lstat(p); lerr == nil {
				return fmt.Errorf("%w: %v", fs.ErrExist, err)
			}
			return err
		}
		return c.Chmod(p, perm.Perm())
	})
}

// Chmod sets path's permission bits.
func (s *SSH) Chmod(ctx context.Context, p string, perm fs.FileMode) error {
	return s.files(ctx, "chmod", p, func(c *sftp.Client) error { return c.Chmod(p, perm) })
}

// Chown sets path's numeric owner without following a final symlink: SFTP's
// SETSTAT follows links, so a symlink is changed with chown -h on the node.
func (s *SSH) Chown(ctx context.Context, p string, uid, gid int) error {
	fi, err := s.Lstat(ctx, p)
	if err != nil {
		return err
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		r, err := s.Run(ctx, Command{Argv: []string{"chown", "-h", fmt.Sprintf("%d:%d", uid, gid), p}})
		if err != nil {
			return err
		}
		if r.ExitCode != 0 {
			return fmt.Errorf("node %s: chown -h %s: exit %d: %s", s.cfg.Name, p, r.ExitCode, bytes.TrimSpace(r.Output))
		}
		return nil
	}
	return s.files(ctx, "chown", p, func(c *sftp.Client) error { return c.Chown(p, uid, gid) })
}

// Rename renames from to to, replacing to (posix-rename@openssh.com).
func (s *SSH) Rename(ctx context.Context, from, to string) error {
	return s.files(ctx, "rename", from, func(c *sftp.Client) error {
		if _, ok := c.HasExtension("posix-rename@openssh.com"); ok {
			return c.PosixRename(from, to)
		}
		return c.Rename(from, to)
	})
}

// Remove removes a file, a symlink or an empty directory. OpenSSH answers a
// non-empty directory with a bare SSH_FX_FAILURE; it is reported as
// syscall.ENOTEMPTY, as rmdir(2) would.
func (s *SSH) Remove(ctx context.Context, p string) error {
	return s.files(ctx, "remove", p, func(c *sftp.Client) error {
		err := c.Remove(p)
		if err == nil || errors.Is(err, fs.ErrNotExist) {
			return err
		}
		if fi, lerr := c.Lstat(p); lerr == nil && fi.IsDir() {
			if ents, rerr := c.ReadDir(p); rerr == nil && len(ents) > 0 {
				return fmt.Errorf("%w (%v)", syscall.ENOTEMPTY, err)
			}
		}
		return err
	})
}
