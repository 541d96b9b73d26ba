package steps

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"mswizard/backup"
	"mswizard/wizard"
)

// A restore of the server root moves the live queue and store out of the way
// first. When the restore itself fails (a damaged archive, a full disk), they
// go back where they were before the error is returned: otherwise the mail
// sits outside the server root, a restarted server delivers into a fresh
// queue, and the next attempt's swap deletes that one.
func TestFailedServerRootRestorePutsQueueAndStoreBack(t *testing.T) {
	c := testConfig(t)
	writeFiles(t, c.Host.MsgDir(), map[string]string{"VERSION": "iPlanet Messaging Server 5.2\n"})
	writeFiles(t, c.Host.QueueDir(), map[string]string{"tcp_local/ZZ01.00": "queued"})
	writeFiles(t, c.Host.StorePrimary(), map[string]string{"=user/a/00/1.msg": "stored"})
	res, err := backup.Create(t.Context(), backup.Options{Source: c.Host.ServerRoot(), Dest: c.BackupDir, Name: serverRootArchive, Exclude: c.serverRootExcludes()})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(res.Archive, res.ArchiveSize/2); err != nil {
		t.Fatal(err)
	}
	rec := backupRecord{Name: serverRootArchive, Archive: res.Archive, Manifest: res.Manifest, ManifestSHA256: res.ManifestSHA256}
	_, err = c.restoreServerRoot(t.Context(), (&wizard.Env{}).Nop(), rec)
	if err == nil {
		t.Fatal("restore of a truncated archive succeeded")
	}
	for p, want := range map[string]string{
		filepath.Join(c.Host.QueueDir(), "tcp_local/ZZ01.00"):    "queued",
		filepath.Join(c.Host.StorePrimary(), "=user/a/00/1.msg"): "stored",
	} {
		if b, err := os.ReadFile(p); err != nil || string(b) != want {
			t.Errorf("%s after the failed restore: %q %v, want %q in place", p, b, err, want)
		}
	}
	if !strings.Contains(err.Error(), "in place") {
		t.Errorf("error does not say the mail is in place: %v", err)
	}
}
