package backup

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"mswizard/internal/atomicfile"
	"mswizard/wizard/mounts"
)

// WizardPrefix starts the top-level names of a tree that belong to the wizard,
// not to the tree: Create and Estimate never walk them, and a content swap
// neither moves nor restores them (mail carried through a restore lives in
// one).
const WizardPrefix = ".mswizard-"

// ReservedPrefix starts the names a content swap keeps inside its target
// (staging, old entries, state); a swap removes leftovers of a killed run.
const ReservedPrefix = WizardPrefix + "restore-"

const (
	contentsStaging = ReservedPrefix + "staging"
	contentsOld     = ReservedPrefix + "old-"
	contentsState   = ReservedPrefix + "state.json"
)

// wizardName reports a relative path that is a top-level name of the wizard's.
func wizardName(rel string) bool {
	return !strings.Contains(rel, "/") && strings.HasPrefix(rel, WizardPrefix)
}

// IsMountPoint reports whether dir is a mount point, by the wizard's one
// mount-point test (wizard/mounts), so a restore and the steps cannot
// disagree about the same server root.
func IsMountPoint(dir string) (bool, error) { return mounts.IsMountPoint(dir) }

// contentsState is the state file of a content swap, kept inside the target
// (TARGET/.mswizard-restore-state.json) so it travels with a shared disk.
type contentsSwap struct {
	Archive string `json:"archive"`
	Target  string `json:"target"`
	Old     string `json:"old"`   // base name of the directory holding the old entries
	Phase   string `json:"phase"` // "out": live entries go to Old; "in": staged entries go live
	// Staged lists the top-level names of the verified staged tree.
	Staged []string `json:"staged"`
	// Keep lists top-level names the swap leaves alone.
	Keep []string `json:"keep,omitempty"`
	// The root directory's own metadata, from the manifest.
	RootMode    uint32 `json:"root_mode"`
	RootUID     int    `json:"root_uid"`
	RootGID     int    `json:"root_gid"`
	RootMtimeNS int64  `json:"root_mtime_ns"`
	// LiveMtimeNS is the live root's mtime before the swap, for a roll back.
	LiveMtimeNS int64 `json:"live_mtime_ns"`
}

func contentsStatePath(target string) string { return filepath.Join(target, contentsState) }

// swapped reports whether the top-level name takes part in a content swap.
func (st *contentsSwap) swapped(name string) bool {
	return !strings.HasPrefix(name, WizardPrefix) && !slices.Contains(st.Keep, name)
}

// restoreContents restores the archive into target by swapping the target's
// top-level entries rather than the target itself: for a target that is a
// mount point, which cannot be renamed and whose parent is another
// filesystem. It stages into TARGET/.mswizard-restore-staging (same
// filesystem), verifies against the manifest, records the swap in
// TARGET/.mswizard-restore-state.json, moves every live top-level entry into
// TARGET/.mswizard-restore-old-TS, then every staged entry into TARGET, applies
// the root's own metadata and removes the old entries. Every step is a rename
// of one entry, so each name is either its old or its restored version, never
// lost; a rerun after a kill finishes the swap (or rolls it back when the
// staged tree is no longer whole). Top-level names with WizardPrefix and those
// in keep are left where they are.
func restoreContents(ctx context.Context, archivePath, manifest, target string, keep []string, now func() time.Time, opt RestoreOptions) error {
	if opt.Staging != "" {
		return errors.New("restore: a content swap stages inside its target; Staging cannot be set")
	}
	for _, k := range keep {
		if k == "" || strings.ContainsRune(k, '/') || k == "." || k == ".." || strings.HasPrefix(k, ReservedPrefix) {
			return fmt.Errorf("restore: keep %q: not a top-level name of the target", k)
		}
	}
	if err := os.Mkdir(target, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("restore: %w", err)
	}
	sp := contentsStatePath(target)
	if b, err := os.ReadFile(sp); err == nil {
		var st contentsSwap
		if err := json.Unmarshal(b, &st); err != nil {
			return fmt.Errorf("restore: state file %s: %w", sp, err)
		}
		if err := resumeContents(st, opt.contentsHook); err != nil {
			return err
		}
		if st.Archive == archivePath {
			return nil
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("restore: %w", err)
	}
	// The live root's mtime, before staging touches it, for a roll back.
	var live syscall.Stat_t
	if err := syscall.Lstat(target, &live); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	// No swap pending: reserved names left over are from a killed staging or
	// a cleanup a kill cut short. Ours by name.
	names, err := readNames(target)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	for _, n := range names {
		if strings.HasPrefix(n, ReservedPrefix) {
			if err := os.RemoveAll(filepath.Join(target, n)); err != nil {
				return fmt.Errorf("restore: remove leftover %s: %w", n, err)
			}
		}
	}
	staging := filepath.Join(target, contentsStaging)
	if err := restoreInto(ctx, archivePath, manifest, staging, opt.Progress); err != nil {
		return errors.Join(err, os.RemoveAll(staging))
	}
	if err := syncFilesystem(staging); err != nil {
		return errors.Join(fmt.Errorf("restore: sync %s: %w", staging, err), os.RemoveAll(staging))
	}
	var root syscall.Stat_t
	if err := syscall.Lstat(staging, &root); err != nil {
		return errors.Join(fmt.Errorf("restore: %w", err), os.RemoveAll(staging))
	}
	staged, err := readNames(staging)
	if err != nil {
		return errors.Join(fmt.Errorf("restore: %w", err), os.RemoveAll(staging))
	}
	st := contentsSwap{Archive: archivePath, Target: target, Phase: "out", Keep: keep,
		Old:      contentsOld + now().UTC().Format("20060102T150405.000000000Z"),
		RootMode: root.Mode & 0o7777, RootUID: int(root.Uid), RootGID: int(root.Gid), RootMtimeNS: root.Mtim.Nano(), LiveMtimeNS: live.Mtim.Nano()}
	for _, n := range staged {
		if st.swapped(n) {
			st.Staged = append(st.Staged, n)
		}
	}
	if err := writeFileAtomic(sp, st); err != nil {
		return errors.Join(fmt.Errorf("restore: record swap: %w", err), os.RemoveAll(staging))
	}
	return resumeContents(st, opt.contentsHook)
}

// resumeContents drives a recorded content swap to its end from whatever
// state a kill left.
func resumeContents(st contentsSwap, hook func(string)) error {
	if hook == nil {
		hook = func(string) {}
	}
	target := st.Target
	sp := contentsStatePath(target)
	staging := filepath.Join(target, contentsStaging)
	old := filepath.Join(target, st.Old)
	exists := func(p string) bool { _, err := os.Lstat(p); return err == nil }
	// The staged tree is whole while each staged name is in staging or, once
	// the live entries are out, already in the target.
	whole := true
	for _, n := range st.Staged {
		if !exists(filepath.Join(staging, n)) && (st.Phase != "in" || !exists(filepath.Join(target, n))) {
			whole = false
			break
		}
	}
	if !whole {
		return rollbackContents(st)
	}
	if err := os.Mkdir(old, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("restore: %w", err)
	}
	hook("staged")
	if st.Phase == "out" {
		names, err := readNames(target)
		if err != nil {
			return fmt.Errorf("restore: %w", err)
		}
		live := slices.DeleteFunc(names, func(n string) bool { return !st.swapped(n) })
		for i, n := range live {
			if exists(filepath.Join(old, n)) {
				return fmt.Errorf("restore: %s is both live and among the old entries in %s; resolve by hand (state in %s)", n, old, sp)
			}
			if err := os.Rename(filepath.Join(target, n), filepath.Join(old, n)); err != nil {
				return fmt.Errorf("restore: move %s aside: %w", n, err)
			}
			if i == len(live)/2 {
				hook("out-half")
			}
		}
		if err := errors.Join(atomicfile.SyncDir(old), atomicfile.SyncDir(target)); err != nil {
			return fmt.Errorf("restore: %w", err)
		}
		st.Phase = "in"
		if err := writeFileAtomic(sp, st); err != nil {
			return fmt.Errorf("restore: record swap: %w", err)
		}
		hook("out")
	}
	for i, n := range st.Staged {
		src := filepath.Join(staging, n)
		if !exists(src) {
			continue // moved in before a kill
		}
		if exists(filepath.Join(target, n)) {
			return fmt.Errorf("restore: %s appeared in %s during the swap; resolve by hand (state in %s)", n, target, sp)
		}
		if err := os.Rename(src, filepath.Join(target, n)); err != nil {
			return fmt.Errorf("restore: move %s into place: %w", n, err)
		}
		if i == len(st.Staged)/2 {
			hook("in-half")
		}
	}
	if err := atomicfile.SyncDir(target); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	hook("in")
	if err := os.RemoveAll(old); err != nil {
		return fmt.Errorf("restore: remove old entries: %w", err)
	}
	if err := os.RemoveAll(staging); err != nil {
		return fmt.Errorf("restore: remove staging: %w", err)
	}
	hook("cleaned")
	if err := rootMeta(st); err != nil {
		return err
	}
	if err := os.Remove(sp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("restore: %w", err)
	}
	// Removing the state file touched the root's mtime: set it once more.
	if err := rootMeta(st); err != nil {
		return err
	}
	return atomicfile.SyncDir(target)
}

// rootMeta gives the target directory the archived root's owner, mode and mtime.
func rootMeta(st contentsSwap) error {
	if os.Geteuid() == 0 {
		if err := os.Lchown(st.Target, st.RootUID, st.RootGID); err != nil {
			return fmt.Errorf("restore: %w", err)
		}
	}
	if err := unix.Chmod(st.Target, st.RootMode); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	ts := unix.NsecToTimespec(st.RootMtimeNS)
	if err := unix.UtimesNanoAt(unix.AT_FDCWD, st.Target, []unix.Timespec{ts, ts}, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("restore: set mtime of %s: %w", st.Target, err)
	}
	return nil
}

// rollbackContents puts every old entry back live when the staged tree is no
// longer whole, and discards what was staged.
func rollbackContents(st contentsSwap) error {
	target := st.Target
	staging := filepath.Join(target, contentsStaging)
	old := filepath.Join(target, st.Old)
	discard := filepath.Join(target, ReservedPrefix+"discard")
	if err := os.MkdirAll(discard, 0o700); err != nil {
		return fmt.Errorf("restore: roll back: %w", err)
	}
	if st.Phase == "in" {
		// Every swapped name live now is a restored one: back to staging,
		// discarded below.
		live, err := readNames(target)
		if err != nil {
			return fmt.Errorf("restore: roll back: %w", err)
		}
		for _, n := range live {
			if !st.swapped(n) {
				continue
			}
			if err := os.Rename(filepath.Join(target, n), filepath.Join(discard, n)); err != nil {
				return fmt.Errorf("restore: roll back %s: %w", n, err)
			}
		}
	}
	names, err := readNames(old)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("restore: roll back: %w", err)
	}
	for _, n := range names {
		if err := os.Rename(filepath.Join(old, n), filepath.Join(target, n)); err != nil {
			return fmt.Errorf("restore: roll back %s: %w", n, err)
		}
	}
	if err := atomicfile.SyncDir(target); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	if err := errors.Join(os.RemoveAll(discard), os.RemoveAll(staging), os.RemoveAll(old), rmIfExists(contentsStatePath(target))); err != nil {
		return fmt.Errorf("restore: roll back: %w", err)
	}
	ts := unix.NsecToTimespec(st.LiveMtimeNS)
	_ = unix.UtimesNanoAt(unix.AT_FDCWD, target, []unix.Timespec{ts, ts}, unix.AT_SYMLINK_NOFOLLOW)
	return fmt.Errorf("restore: the staged tree in %s is no longer whole; rolled back to the old entries of %s", staging, target)
}
