package node

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"mswizard/wizard"
)

// Local is the machine the wizard runs on, reached with package os and os/exec.
//
// Children run in their own process group, as wizard.OSExecer runs them, so a
// Ctrl-C at the terminal reaches the wizard alone; and they write into an
// unlinked file rather than a pipe, so a wizard killed while a command runs (a
// start script leaving daemons behind) does not kill it with SIGPIPE on its
// next line. A command is ended only by its Timeout or by ctx: SIGTERM to its
// process group, then SIGKILL after Grace.
type Local struct {
	// Grace is the time between SIGTERM and SIGKILL; 0 means 5 s.
	Grace time.Duration
}

// Name is "local": the name runbooks use for the control host.
func (Local) Name() string { return "local" }

// maxOutput bounds the output a Result keeps (the tail); a daemon's start
// script may write without end.
const maxOutput = 1 << 20

// Run runs argv on this machine without a shell.
func (l Local) Run(ctx context.Context, c Command) (Result, error) {
	res := Result{Node: l.Name(), Argv: append([]string(nil), c.Argv...)}
	if len(c.Argv) == 0 {
		return res, errors.New("run: empty argv")
	}
	if err := ctx.Err(); err != nil {
		return res, fmt.Errorf("%s: not started: %w", c.Argv[0], err)
	}
	if c.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.Timeout)
		defer cancel()
	}
	grace := l.Grace
	if grace <= 0 {
		grace = 5 * time.Second
	}
	cmd := exec.Command(c.Argv[0], c.Argv[1:]...)
	cmd.Dir = c.Dir
	cmd.Env = append(os.Environ(), c.Env...)
	cmd.Stdin = c.Stdin
	out, err := os.CreateTemp("", "mswizard-node-")
	if err != nil {
		return res, fmt.Errorf("%s: output file: %w", c.Argv[0], err)
	}
	_ = os.Remove(out.Name())
	defer out.Close()
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return res, fmt.Errorf("%s: %w", c.Argv[0], err)
	}
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	var werr error
	select {
	case werr = <-waited:
	case <-ctx.Done():
		werr = wizard.StopGroup(cmd.Process.Pid, waited, grace)
	}
	res.Duration = time.Since(start)
	res.Output = readTail(out, maxOutput)
	if cmd.ProcessState != nil {
		res.ExitCode = cmd.ProcessState.ExitCode()
	}
	if ctx.Err() != nil {
		return res, fmt.Errorf("%s: ended after %s: %w", c.Argv[0], res.Duration.Round(time.Millisecond), ctx.Err())
	}
	var ee *exec.ExitError
	if werr != nil && !errors.As(werr, &ee) {
		return res, fmt.Errorf("%s: %w", c.Argv[0], werr)
	}
	return res, nil
}

func readTail(f *os.File, max int64) []byte {
	fi, err := f.Stat()
	if err != nil {
		return nil
	}
	off := int64(0)
	if fi.Size() > max {
		off = fi.Size() - max
	}
	b := make([]byte, fi.Size()-off)
	n, _ := f.ReadAt(b, off)
	return b[:n]
}

func (Local) ReadFile(ctx context.Context, path string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return os.ReadFile(path)
}

// WriteFile writes a temporary file beside path, syncs it, renames it over
// path and syncs the directory: a crash leaves the old or the new file whole.
func (Local) WriteFile(ctx context.Context, path string, data []byte, perm fs.FileMode) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	fail := func(err error) error {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		return fail(err)
	}
	if err := f.Chmod(perm); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

func (Local) Lstat(ctx context.Context, path string) (fs.FileInfo, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return os.Lstat(path)
}

func (Local) Owner(ctx context.Context, path string) (int, int, error) {
	if err := ctx.Err(); err != nil {
		return 0, 0, err
	}
	fi, err := os.Lstat(path)
	if err != nil {
		return 0, 0, err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, 0, fmt.Errorf("owner of %s: no stat data", path)
	}
	return int(st.Uid), int(st.Gid), nil
}

func (Local) ReadLink(ctx context.Context, path string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	return os.Readlink(path)
}

func (Local) Symlink(ctx context.Context, target, path string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := os.Symlink(target, path); err != nil {
		return err
	}
	return syncDir(filepath.Dir(path))
}

func (Local) Mkdir(ctx context.Context, path string, perm fs.FileMode) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := os.Mkdir(path, perm); err != nil {
		return err
	}
	// Mkdir's perm passes through the umask; the runbook asked for perm.
	return os.Chmod(path, perm)
}

func (Local) Chmod(ctx context.Context, path string, perm fs.FileMode) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return os.Chmod(path, perm)
}

func (Local) Chown(ctx context.Context, path string, uid, gid int) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return os.Lchown(path, uid, gid)
}

func (Local) Rename(ctx context.Context, from, to string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := os.Rename(from, to); err != nil {
		return err
	}
	return syncDir(filepath.Dir(to))
}

func (Local) Remove(ctx context.Context, path string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return os.Remove(path)
}

func (Local) Close() error { return nil }

var _ Node = Local{}
