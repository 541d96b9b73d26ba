package steps

import (
	"os"
	"path/filepath"
	"testing"

	"mswizard/backup"
	"mswizard/wizard"
	"mswizard/wizard/journal"
)

// A queue directory that is a symlink to another volume (imta/queue on its
// own disk) holds the messages of the directory it points to: the check must
// count them and the archive must hold them, not report an empty queue.
func TestSymlinkedQueueIsCountedAndArchived(t *testing.T) {
	c := testConfig(t)
	elsewhere := filepath.Join(filepath.Dir(c.Host.ServerRoot()), "queue-volume")
	writeFiles(t, elsewhere, map[string]string{"tcp_local/ZZ01.00": "msg 1", "ims-ms/ZZ02.00": "msg 2"})
	if err := os.MkdirAll(filepath.Dir(c.Host.QueueDir()), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(elsewhere, c.Host.QueueDir()); err != nil {
		t.Fatal(err)
	}
	j, err := journal.Open(c.StateDir, journal.Options{Run: "t1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := j.Append(journal.Record{Kind: journal.KindRunStart}); err != nil {
		t.Fatal(err)
	}
	j.Close()
	env := (&wizard.Env{}).Nop()
	step := BackupQueue(c)
	done, why, err := step.Check(t.Context(), env)
	if err != nil || done {
		t.Fatalf("check = %v %q %v, want not done: 2 messages are queued", done, why, err)
	}
	as, err := step.Plan(t.Context(), env)
	if err != nil {
		t.Fatal(err)
	}
	var r wizard.Receipt
	if err := as[0].Do(t.Context(), &r); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "out")
	if err := backup.RestoreInto(t.Context(), filepath.Join(c.BackupDir, queueArchive+".t1"+backup.ArchiveSuffix), out, nil); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(out, "tcp_local/ZZ01.00")); err != nil || string(b) != "msg 1" {
		t.Fatalf("archived queue lacks tcp_local/ZZ01.00: %q %v", b, err)
	}
}
