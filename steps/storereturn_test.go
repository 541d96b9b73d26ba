package steps

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for rel, body := range files {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// Returning the store carries what was delivered into the temporary partition
// without overwriting anything, and a mailbox directory made meanwhile keeps
// its owner and mode (the store runs as its own user, not root).
func TestReturnStoreKeepsEveryFileAndOwnership(t *testing.T) {
	dir := t.TempDir()
	store := filepath.Join(dir, "primary")
	aside := store + storeAsideSuffix
	writeFiles(t, aside, map[string]string{"=user/a/00/1.msg": "old", "=user/a/00/1.msg.carried": "carried before"})
	writeFiles(t, store, map[string]string{"=user/a/00/1.msg": "new", "=user/b/00/1.msg": "b's first"})
	newBox := filepath.Join(store, "=user", "b")
	if err := os.Chmod(newBox, 0o750); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		if err := os.Lchown(newBox, 4321, 4322); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := returnStore(store, aside); err != nil {
		t.Fatal(err)
	}
	var bodies []string
	_ = filepath.WalkDir(store, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			b, _ := os.ReadFile(p)
			bodies = append(bodies, string(b))
		}
		return err
	})
	got := strings.Join(bodies, ",")
	for _, want := range []string{"old", "new", "carried before", "b's first"} {
		if !strings.Contains(got, want) {
			t.Errorf("returned store lost %q: has %s", want, got)
		}
	}
	fi, err := os.Stat(filepath.Join(store, "=user", "b"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o750 {
		t.Errorf("new mailbox mode %v, want 0750", fi.Mode().Perm())
	}
	if st := fi.Sys().(*syscall.Stat_t); os.Geteuid() == 0 && (st.Uid != 4321 || st.Gid != 4322) {
		t.Errorf("new mailbox owner %d:%d, want 4321:4322", st.Uid, st.Gid)
	}
}

// Moving the store aside can be stopped anywhere and run again: every state a
// kill can leave is finished or refused with the store untouched, and a
// partition that is a mount point (which rename cannot move) is refused
// before anything moves, naming StoreAction = umount.
func TestMoveStoreAsideResumesOrRefusesSafely(t *testing.T) {
	cases := []struct {
		name    string
		setup   func(t *testing.T, store, aside string)
		wantErr []string // empty: success
	}{
		{"a store in place is moved aside and an empty partition made", func(t *testing.T, store, aside string) {}, nil},
		{"a move killed after the rename makes the empty partition on retry", func(t *testing.T, store, aside string) {
			if err := os.Rename(store, aside); err != nil {
				t.Fatal(err)
			}
		}, nil},
		{"a store that is a mount point is refused before anything moves", func(t *testing.T, store, aside string) {
			if os.Geteuid() != 0 {
				t.Skip("mounting needs root")
			}
			if err := syscall.Mount("tmpfs", store, "tmpfs", 0, "mode=0750"); err != nil {
				t.Skipf("cannot mount a tmpfs: %v", err)
			}
			t.Cleanup(func() { _ = syscall.Unmount(store, syscall.MNT_DETACH) })
			writeFiles(t, store, map[string]string{"=user/a/00/1.msg": "mail"})
		}, []string{"mount point", "StoreAction = umount", "nothing was moved"}},
		{"a non-empty partition beside an aside store is refused", func(t *testing.T, store, aside string) {
			writeFiles(t, aside, map[string]string{"=user/a/00/2.msg": "older"})
		}, []string{"already exists"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			store := filepath.Join(dir, "primary")
			aside := store + storeAsideSuffix
			writeFiles(t, store, map[string]string{"=user/a/00/1.msg": "mail"})
			if err := os.Chmod(store, 0o750); err != nil {
				t.Fatal(err)
			}
			c.setup(t, store, aside)
			_, err := moveStoreAside(store, aside)
			if len(c.wantErr) > 0 {
				if err == nil {
					t.Fatal("moved, want refused")
				}
				for _, w := range c.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error does not say %q: %v", w, err)
					}
				}
				if b, err := os.ReadFile(filepath.Join(store, "=user/a/00/1.msg")); err != nil || string(b) != "mail" {
					t.Errorf("the store was touched: %q %v", b, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if b, err := os.ReadFile(filepath.Join(aside, "=user/a/00/1.msg")); err != nil || string(b) != "mail" {
				t.Errorf("aside store lacks the mail: %q %v", b, err)
			}
			fi, err := os.Stat(store)
			if err != nil || !isEmptyDir(store) || fi.Mode().Perm() != 0o750 {
				t.Errorf("empty partition: %v %v, want an empty 0750 directory", fi, err)
			}
		})
	}
}

func TestMoveStoreAsideRunTwiceIsDone(t *testing.T) {
	dir := t.TempDir()
	store := filepath.Join(dir, "primary")
	aside := store + storeAsideSuffix
	writeFiles(t, store, map[string]string{"=user/a/00/1.msg": "mail"})
	for i := range 2 {
		if _, err := moveStoreAside(store, aside); err != nil {
			t.Fatalf("run %d: %v", i+1, err)
		}
	}
	if b, err := os.ReadFile(filepath.Join(aside, "=user/a/00/1.msg")); err != nil || string(b) != "mail" || !isEmptyDir(store) {
		t.Fatalf("after two runs: aside mail %q %v, store empty %v", b, err, isEmptyDir(store))
	}
}
