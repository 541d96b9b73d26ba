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
