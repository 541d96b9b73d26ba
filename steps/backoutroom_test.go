package steps

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"mswizard/backup"
)

// The room a backout needs is stated from the server-root archive the run
// recorded, on the volume the restore stages its copy on, sized as the
// preflight sizes it; with no archive recorded there is no restore to make
// room for; a volume that cannot hold it says so.
func TestTheBackoutStatesTheRoomItsRestoreNeeds(t *testing.T) {
	c := testConfig(t)
	if _, ok, err := c.BackoutRoomNeeded(); ok || err != nil {
		t.Fatalf("no archive recorded: ok %v, err %v; want nothing to state", ok, err)
	}
	if err := os.MkdirAll(c.StateDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := c.recordBackup(backupRecord{Name: serverRootArchive, Archive: filepath.Join(c.BackupDir, "server-root.T.tar.zst"), Bytes: 40 << 20}); err != nil {
		t.Fatal(err)
	}
	room, ok, err := c.BackoutRoomNeeded()
	if err != nil || !ok {
		t.Fatalf("archive recorded: ok %v, err %v", ok, err)
	}
	free, err := backup.FreeBytes(c.backoutVolume())
	if err != nil {
		t.Fatal(err)
	}
	if room.Volume != c.backoutVolume() || room.Need != restoreRoom(40<<20) || room.Need <= 40<<20 || room.Free == 0 || room.Free > free+1<<30 {
		t.Errorf("room %+v; want about 44 MiB on %s, with its free space", room, c.backoutVolume())
	}
	if s := room.String(); !strings.Contains(s, "stages a copy of the server root from "+room.Archive+" on "+room.Volume) || strings.Contains(s, "NOT ENOUGH") {
		t.Errorf("the line on a roomy volume: %q", s)
	}
	room.Free = room.Need - 1<<20
	if s := room.String(); room.Enough() || !strings.Contains(s, "NOT ENOUGH: free 1.0 MiB") {
		t.Errorf("the line on a volume 1 MiB short: %q", s)
	}
}
