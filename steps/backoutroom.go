package steps

import (
	"fmt"

	"mswizard/backup"
)

// restoreRoom is the room a backout's restore of a server root of n bytes
// takes on its volume: the restore extracts the archive into a staging copy
// beside the live server root (or inside it, for a mount point) and swaps it
// in, so the volume holds a second server root for a while; the store and the
// queue are carried by rename and take no room. A tenth more and a mebibyte
// cover the directories and the file system's blocks. The preflight
// (PRE-DISK-003) and backout --dry-run both state it from here.
func restoreRoom(n uint64) uint64 { return n + n/10 + 1<<20 }

// BackoutRoom is the room the backout's restore of the server root needs, where,
// and what is free there now.
type BackoutRoom struct {
	Volume  string `json:"volume"`  // where the restore stages its copy
	Archive string `json:"archive"` // the server-root archive it restores
	Need    uint64 `json:"need_bytes"`
	Free    uint64 `json:"free_bytes"`
}

// Enough says whether the volume holds the staged copy.
func (r BackoutRoom) Enough() bool { return r.Free >= r.Need }

// String says it in one line for backout --dry-run.
func (r BackoutRoom) String() string {
	s := fmt.Sprintf("Room: the restore stages a copy of the server root from %s on %s: it needs about %s there, and %s is free.",
		r.Archive, r.Volume, human(r.Need), human(r.Free))
	if !r.Enough() {
		s += fmt.Sprintf("\n  NOT ENOUGH: free %s on that volume before the backout, or the restore fails before it swaps anything in.", human(r.Need-r.Free))
	}
	return s
}

// BackoutRoomNeeded is the room the backout's restore of the server root needs,
// sized from the archive the backup recorded (its regular file bytes) as the
// preflight sizes it from the live tree; ok is false when no server-root
// archive is recorded, so a backout restores nothing.
func (c *Config) BackoutRoomNeeded() (room BackoutRoom, ok bool, err error) {
	idx, err := c.readBackupIndex()
	if err != nil {
		return BackoutRoom{}, false, fmt.Errorf("backup index: %w", err)
	}
	rec, ok := idx[serverRootArchive]
	if !ok {
		return BackoutRoom{}, false, nil
	}
	vol := c.backoutVolume()
	free, err := backup.FreeBytes(vol)
	if err != nil {
		return BackoutRoom{}, false, err
	}
	return BackoutRoom{Volume: vol, Archive: rec.Archive, Need: restoreRoom(uint64(rec.Bytes)), Free: free}, true, nil
}
