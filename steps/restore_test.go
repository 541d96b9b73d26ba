package steps

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mswizard/backup"
	"mswizard/wizard"
	"mswizard/wizard/journal"
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

// A server root restored by hand (PRE-RUN-001's way back) keeps what its
// archive left out: the store partition, the store set aside and a BackupDir
// inside the server root — the archive being restored among them — are
// carried into the restored tree, and the live queue replaces the archived
// one. Without a recorded sha256 it refuses unless told; under another run's
// host lock it refuses.
func TestARestoreByHandKeepsWhatTheArchiveLeftOut(t *testing.T) {
	c := testConfig(t)
	c.BackupDir = filepath.Join(c.Host.ServerRoot(), "backups")
	writeFiles(t, c.Host.MsgDir(), map[string]string{"VERSION": "iPlanet Messaging Server 5.1\n"})
	writeFiles(t, c.Host.QueueDir(), map[string]string{"tcp_local/ZZ01.00": "queued before"})
	writeFiles(t, c.Host.StorePrimary(), map[string]string{"=user/a/00/1.msg": "stored"})
	res, err := backup.Create(t.Context(), backup.Options{Source: c.Host.ServerRoot(), Dest: c.BackupDir, Name: serverRootArchive + ".earlier", Exclude: c.serverRootExcludes()})
	if err != nil {
		t.Fatal(err)
	}
	// The upgrade, and mail since.
	writeFiles(t, c.Host.MsgDir(), map[string]string{"VERSION": "iPlanet Messaging Server 5.2\n"})
	writeFiles(t, c.Host.QueueDir(), map[string]string{"tcp_local/ZZ02.00": "queued after"})
	writeFiles(t, c.Host.StorePrimary()+storeAsideSuffix, map[string]string{"=user/b/00/1.msg": "set aside"})
	writeFiles(t, c.BackupDir, map[string]string{"notes": "kept"})
	env := (&wizard.Env{}).Nop()

	if _, err := c.RestoreArchive(t.Context(), env, ArchiveRestore{Archive: res.Archive}); !errors.Is(err, ErrNoRecordedHash) {
		t.Fatalf("no recorded sha256, none given: %v, want ErrNoRecordedHash", err)
	}
	l, err := journal.LockServerRoot(c.Host.ServerRoot(), "/elsewhere", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	var locked *journal.LockedError
	if _, err := c.RestoreArchive(t.Context(), env, ArchiveRestore{Archive: res.Archive, ManifestSHA256: res.ManifestSHA256}); !errors.As(err, &locked) {
		t.Fatalf("under another run's host lock: %v, want a *journal.LockedError", err)
	}
	l.Close()
	carried, err := c.RestoreArchive(t.Context(), env, ArchiveRestore{Archive: res.Archive, ManifestSHA256: res.ManifestSHA256})
	if err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]string{
		filepath.Join(c.Host.MsgDir(), "VERSION"):                                 "iPlanet Messaging Server 5.1\n",
		filepath.Join(c.Host.QueueDir(), "tcp_local/ZZ01.00"):                     "queued before",
		filepath.Join(c.Host.QueueDir(), "tcp_local/ZZ02.00"):                     "queued after",
		filepath.Join(c.Host.StorePrimary(), "=user/a/00/1.msg"):                  "stored",
		filepath.Join(c.Host.StorePrimary()+storeAsideSuffix, "=user/b/00/1.msg"): "set aside",
		filepath.Join(c.BackupDir, "notes"):                                       "kept",
	} {
		if b, err := os.ReadFile(p); err != nil || string(b) != want {
			t.Errorf("%s after the restore: %q %v, want %q", p, b, err, want)
		}
	}
	if err := backup.Verify(t.Context(), res.Archive, res.Manifest, nil); err != nil {
		t.Errorf("the restored archive is no longer whole where it was: %v", err)
	}
	if len(carried) != 2 {
		t.Errorf("carried %v, want the two queued messages", carried)
	}
}

// The manifest's hash a restore by hand is held to is the recorded one: from
// the state directory's backup index, or an archive action's receipt in its
// journal; an operator's hash that disagrees with it is refused; with nothing
// recorded, only an explicit Unrecorded restores the manifest as it is.
func TestARestoreByHandIsHeldToTheRecordedManifestHash(t *testing.T) {
	c := testConfig(t)
	writeFiles(t, c.Host.MsgDir(), map[string]string{"VERSION": "iPlanet Messaging Server 5.1\n"})
	res, err := backup.Create(t.Context(), backup.Options{Source: c.Host.ServerRoot(), Dest: c.BackupDir, Name: serverRootArchive + ".earlier", Exclude: c.serverRootExcludes()})
	if err != nil {
		t.Fatal(err)
	}
	env := (&wizard.Env{}).Nop()
	var ve *backup.VerifyError
	other := strings.Repeat("0", 64)

	// The journal of the run that made it records it in the archive's receipt.
	j, err := journal.Open(c.StateDir, journal.Options{Run: "earlier"})
	if err != nil {
		t.Fatal(err)
	}
	rc, _ := json.Marshal(wizard.Receipt{Step: "backup/server-root", Files: []wizard.FileHash{{Path: res.Manifest, SHA256: other}}})
	if _, err := j.Append(journal.Record{Kind: journal.KindDone, Step: "backup/server-root", Receipt: rc}); err != nil {
		t.Fatal(err)
	}
	j.Close()
	if _, err := c.RestoreArchive(t.Context(), env, ArchiveRestore{Archive: res.Archive}); !errors.As(err, &ve) {
		t.Fatalf("a manifest unlike the journal's record: %v, want a *backup.VerifyError", err)
	}
	// The backup index wins over the journal, and a given hash must agree.
	if err := c.recordBackup(backupRecord{Name: serverRootArchive, Archive: res.Archive, Manifest: res.Manifest, ManifestSHA256: other}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.RestoreArchive(t.Context(), env, ArchiveRestore{Archive: res.Archive, ManifestSHA256: res.ManifestSHA256}); !errors.As(err, &ve) || !strings.Contains(err.Error(), "not the one") {
		t.Fatalf("a given hash unlike the recorded one: %v, want a *backup.VerifyError", err)
	}
	// Nothing recorded: refused, unless told.
	c.StateDir = t.TempDir()
	if _, err := c.RestoreArchive(t.Context(), env, ArchiveRestore{Archive: res.Archive}); !errors.Is(err, ErrNoRecordedHash) {
		t.Fatalf("nothing recorded: %v, want ErrNoRecordedHash", err)
	}
	if _, err := c.RestoreArchive(t.Context(), env, ArchiveRestore{Archive: res.Archive, Unrecorded: true}); err != nil {
		t.Fatalf("nothing recorded, Unrecorded: %v", err)
	}
}
