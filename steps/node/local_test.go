package node

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLocalRun(t *testing.T) {
	ctx := context.Background()
	l := Local{Grace: 200 * time.Millisecond}
	tests := []struct {
		name     string
		cmd      Command
		wantCode int
		wantOut  string
		wantErr  string
	}{
		{name: "exit status is a result, not an error", cmd: Command{Argv: []string{"sh", "-c", "echo out; echo err >&2; exit 3"}}, wantCode: 3, wantOut: "out\nerr\n"},
		{name: "argv elements reach the program unsplit, no shell", cmd: Command{Argv: []string{"printf", "%s|", "a b", "$HOME;x"}}, wantOut: "a b|$HOME;x|"},
		{name: "stdin is fed to the program", cmd: Command{Argv: []string{"cat"}, Stdin: strings.NewReader("secret\n")}, wantOut: "secret\n"},
		{name: "env is added to the environment", cmd: Command{Argv: []string{"sh", "-c", "echo $RB_X"}, Env: []string{"RB_X=y"}}, wantOut: "y\n"},
		{name: "dir is the working directory", cmd: Command{Argv: []string{"pwd"}, Dir: "/"}, wantOut: "/\n"},
		{name: "a missing program is an error", cmd: Command{Argv: []string{"/nonexistent/prog"}}, wantErr: "no such file"},
		{name: "empty argv is an error", cmd: Command{}, wantErr: "empty argv"},
		{name: "a timeout ends the process group", cmd: Command{Argv: []string{"sleep", "30"}, Timeout: 100 * time.Millisecond}, wantCode: -1, wantErr: "deadline exceeded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			res, err := l.Run(ctx, tt.cmd)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if time.Since(start) > 5*time.Second {
				t.Fatalf("took %s", time.Since(start))
			}
			if tt.wantErr == "" || tt.wantCode != 0 {
				if res.ExitCode != tt.wantCode {
					t.Errorf("exit = %d, want %d", res.ExitCode, tt.wantCode)
				}
			}
			if tt.wantOut != "" && string(res.Output) != tt.wantOut {
				t.Errorf("output = %q, want %q", res.Output, tt.wantOut)
			}
			if res.Node != "local" {
				t.Errorf("node = %q", res.Node)
			}
		})
	}
}

func TestLocalRunOwnProcessGroup(t *testing.T) {
	// A child in its own group: its pgid is its pid, not ours.
	res, err := Local{}.Run(context.Background(), Command{Argv: []string{"sh", "-c", "ps -o pgid= -p $$; echo $$"}})
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(res.Output))
	if len(f) != 2 || f[0] != f[1] {
		t.Fatalf("child's pgid and pid differ: %q", res.Output)
	}
}

func TestLocalRunBackgroundChildDoesNotHang(t *testing.T) {
	// A start script that leaves a daemon behind returns when the script exits,
	// though the daemon keeps the output file open.
	start := time.Now()
	res, err := Local{}.Run(context.Background(), Command{Argv: []string{"sh", "-c", "sleep 3 & echo started"}})
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("waited %s for the background child", d)
	}
	if !strings.Contains(string(res.Output), "started") {
		t.Fatalf("output %q", res.Output)
	}
}

func TestLocalFiles(t *testing.T) {
	ctx := context.Background()
	l := Local{}
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	steps := []struct {
		name string
		do   func() error
		test func() error
	}{
		{"write creates the file with its mode", func() error { return l.WriteFile(ctx, p, []byte("one"), 0o640) }, func() error {
			fi, err := l.Lstat(ctx, p)
			if err != nil {
				return err
			}
			if fi.Mode().Perm() != 0o640 {
				return errors.New("mode " + fi.Mode().String())
			}
			b, _ := l.ReadFile(ctx, p)
			if string(b) != "one" {
				return errors.New("content " + string(b))
			}
			return nil
		}},
		{"write replaces and leaves no temporary file", func() error { return l.WriteFile(ctx, p, []byte("two"), 0o600) }, func() error {
			ents, _ := os.ReadDir(dir)
			if len(ents) != 1 {
				return errors.New("leftovers in dir")
			}
			return nil
		}},
		{"mkdir applies the mode despite the umask", func() error { return l.Mkdir(ctx, filepath.Join(dir, "d"), 0o777) }, func() error {
			fi, err := l.Lstat(ctx, filepath.Join(dir, "d"))
			if err != nil || fi.Mode().Perm() != 0o777 || !fi.IsDir() {
				return errors.New("mode or kind wrong")
			}
			return nil
		}},
		{"symlink and readlink round-trip; lstat does not follow", func() error { return l.Symlink(ctx, "d", filepath.Join(dir, "l")) }, func() error {
			tgt, err := l.ReadLink(ctx, filepath.Join(dir, "l"))
			if err != nil || tgt != "d" {
				return errors.New("target " + tgt)
			}
			fi, _ := l.Lstat(ctx, filepath.Join(dir, "l"))
			if fi.Mode()&fs.ModeSymlink == 0 {
				return errors.New("lstat followed the link")
			}
			return nil
		}},
		{"chown and owner agree", func() error { return l.Chown(ctx, p, 1, 2) }, func() error {
			uid, gid, err := l.Owner(ctx, p)
			if err != nil || uid != 1 || gid != 2 {
				if os.Getuid() != 0 {
					return nil
				}
				return errors.New("owner wrong")
			}
			return nil
		}},
		{"rename moves", func() error { return l.Rename(ctx, filepath.Join(dir, "l"), filepath.Join(dir, ".l")) }, func() error {
			_, err := l.Lstat(ctx, filepath.Join(dir, "l"))
			if !errors.Is(err, fs.ErrNotExist) {
				return errors.New("old name still there")
			}
			return nil
		}},
		{"remove removes a symlink, not its target", func() error { return l.Remove(ctx, filepath.Join(dir, ".l")) }, func() error {
			if _, err := l.Lstat(ctx, filepath.Join(dir, "d")); err != nil {
				return err
			}
			return nil
		}},
		{"chmod changes the mode", func() error { return l.Chmod(ctx, p, 0o755) }, func() error {
			fi, _ := l.Lstat(ctx, p)
			if fi.Mode().Perm() != 0o755 {
				return errors.New("mode")
			}
			return nil
		}},
	}
	for _, s := range steps {
		if os.Getuid() != 0 && strings.HasPrefix(s.name, "chown") {
			continue
		}
		if err := s.do(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if err := s.test(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := l.ReadFile(cctx, p); !errors.Is(err, context.Canceled) {
		t.Fatalf("a cancelled context must stop ReadFile: %v", err)
	}
}
