package journal

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// reversion re-seals line n with format version v, as a newer wizard would
// have written it: the CRC holds, only the version is unknown.
func reversion(t *testing.T, b []byte, n, v int) []byte {
	t.Helper()
	ls := lines(b)
	r, err := decode([]byte(strings.TrimSuffix(ls[n], "\n")))
	if err != nil {
		t.Fatal(err)
	}
	r.V = v
	out, err := encode(r)
	if err != nil {
		t.Fatal(err)
	}
	ls[n] = string(out)
	return []byte(strings.Join(ls, ""))
}

func TestAnUnknownRecordVersionIsRefusedNeverCut(t *testing.T) {
	for _, c := range []struct {
		name string
		line int
	}{{"on the last line", 3}, {"in the middle", 1}} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			j, err := Open(dir, Options{})
			if err != nil {
				t.Fatal(err)
			}
			appendN(t, j, 4)
			j.Close()
			path := filepath.Join(dir, FileName)
			b, _ := os.ReadFile(path)
			damaged := reversion(t, b, c.line, Version+1)
			if err := os.WriteFile(path, damaged, 0o600); err != nil {
				t.Fatal(err)
			}
			for _, open := range []func() error{
				func() error {
					j, err := Open(dir, Options{})
					if err == nil {
						j.Close()
					}
					return err
				},
				func() error { _, err := Read(dir); return err },
			} {
				err := open()
				var ce *CorruptError
				if !errors.As(err, &ce) || ce.Line != c.line+1 || !strings.Contains(err.Error(), "record version 2") {
					t.Fatalf("err = %v, want a refusal at line %d naming the version", err, c.line+1)
				}
			}
			if after, _ := os.ReadFile(path); string(after) != string(damaged) {
				t.Fatal("the journal was changed")
			}
		})
	}
}

func TestTheServerRootLockNamesItsHolderAndJoinsNoStateDirectory(t *testing.T) {
	base, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(base, "server-root")
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	since := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	l, err := LockServerRoot(root, "/var/state-a", since)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Dir(HostLockPath(root)) != base {
		t.Fatalf("lock %s is not beside the server root", HostLockPath(root))
	}
	// flock(2) locks conflict between open file descriptions, even in one
	// process: the second attempt stands for a second run.
	_, err = LockServerRoot(root+"/", "/var/state-b", time.Now())
	var le *LockedError
	if !errors.As(err, &le) || le.Holder.PID != os.Getpid() || le.Holder.StateDir != "/var/state-a" || !le.Holder.Since.Equal(since) {
		t.Fatalf("second lock: %v (%+v)", err, le)
	}
	for _, want := range []string{root, "/var/state-a", "since 2026-01-02T03:04:05Z"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the refusal does not name %q: %v", want, err)
		}
	}
	// The same tree named through a symbolic link is the same server root.
	link := filepath.Join(base, "msg-link")
	if err := os.Symlink(root, link); err != nil {
		t.Fatal(err)
	}
	if _, err := LockServerRoot(link, "/var/state-c", time.Now()); !errors.As(err, &le) {
		t.Fatalf("a lock through a symbolic link to the locked server root was taken: %v", err)
	}
	l.Close()
	l2, err := LockServerRoot(root, "/var/state-b", time.Now())
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	l2.Close()
}

// TestALockReleasedAMomentLaterIsTaken: a lock released within the settle
// time (a forked child about to exec still sharing the descriptor) is taken,
// not reported as held; one held past it is refused.
func TestALockReleasedAMomentLaterIsTaken(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.lock")
	other, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Flock(int(other.Fd()), unix.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	go func() {
		time.Sleep(200 * time.Millisecond)
		other.Close()
	}()
	f, err := acquire(path, Holder{Since: time.Now()})
	if err != nil {
		t.Fatalf("a lock released after 200ms was reported held: %v", err)
	}
	defer f.Close()
	if _, err := acquire(path, Holder{Since: time.Now()}); err == nil {
		t.Fatal("a lock held past the settle time was taken twice")
	} else if le := (*LockedError)(nil); !errors.As(err, &le) || le.Holder.PID != os.Getpid() {
		t.Fatalf("err = %v, want the holder named", err)
	}
}
