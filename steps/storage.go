package steps

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"

	"mswizard/backup"
	"mswizard/internal/atomicfile"
	"mswizard/steps/facts"
	"mswizard/wizard"
)

// Archive names in BackupDir: NAME.RUN.tar.zst, RUN naming the run (the
// journal's epoch, runTag). A run replaces only an archive of its own name — one
// a kill left before its done record — and only once the new one is complete and
// verified (backup.Create writes NAME.partial first); an archive of another run
// is never overwritten nor deleted.
const (
	serverRootArchive = "server-root"
	queueArchive      = "queue"
)

// storeAsideSuffix names the moved-aside message store (seed 003, backup step 5:
// rename the primary partition and create an empty directory in its place).
const storeAsideSuffix = ".mswizard-aside"

// backupRecord is what a backup action keeps in its receipt and in the state
// directory's backup index, which the verify gate and the report read.
type backupRecord struct {
	Name           string `json:"name"`
	Run            string `json:"run,omitempty"` // the run tag the archive is named for
	Source         string `json:"source"`
	Archive        string `json:"archive"`
	Manifest       string `json:"manifest"`
	ManifestSHA256 string `json:"manifest_sha256"`
	Files          int64  `json:"files"`
	Bytes          int64  `json:"bytes"`
	ArchiveSize    int64  `json:"archive_size"`
}

func (c *Config) backupIndex() string { return filepath.Join(c.StateDir, "backups.json") }

func (c *Config) readBackupIndex() (map[string]backupRecord, error) {
	idx := map[string]backupRecord{}
	b, err := os.ReadFile(c.backupIndex())
	if errors.Is(err, os.ErrNotExist) {
		return idx, nil
	}
	if err != nil {
		return nil, err
	}
	return idx, json.Unmarshal(b, &idx)
}

func (c *Config) recordBackup(r backupRecord) error {
	idx, err := c.readBackupIndex()
	if err != nil {
		return fmt.Errorf("backup index: %w", err)
	}
	idx[r.Name] = r
	b, _ := json.MarshalIndent(idx, "", "  ")
	return atomicfile.WriteFile(c.backupIndex(), b, 0o600)
}

// storeRel is the primary partition relative to the server root.
func (c *Config) storeRel() string {
	rel, _ := filepath.Rel(c.Host.ServerRoot(), c.Host.StorePrimary())
	return rel
}

func (c *Config) serverRootExcludes() []string {
	ex := []string{c.storeRel(), c.storeRel() + storeAsideSuffix}
	if rel, err := filepath.Rel(c.Host.ServerRoot(), c.BackupDir); err == nil && !strings.HasPrefix(rel, "..") {
		ex = append(ex, rel)
	}
	return ex
}

// DiskSpace is preflight/disk-space: the backups must fit before anything is
// stopped. The estimate is the uncompressed size, a safe upper bound.
func DiskSpace(c *Config) wizard.Step {
	return wizard.Phase{ID: "preflight/disk-space", Title: "Room for the backups, and a server root they can restore", Check: findingsRanFirst, Counts: c.spaceCounts,
		Preflight: func(ctx context.Context, env *wizard.Env) ([]wizard.Finding, error) {
			fs := c.restorable()
			earlier, err := c.earlierRun(ctx, env)
			if err != nil {
				return nil, err
			}
			fs = append(fs, earlier...)
			srFiles, srBytes, err := backup.Estimate(ctx, c.Host.ServerRoot(), c.serverRootExcludes())
			c.noteSize(c.Host.ServerRoot(), srFiles, srBytes)
			if err != nil {
				return append(fs, wizard.Finding{ID: "PRE-DISK-002", Severity: wizard.Inhibitor, Message: fmt.Sprintf("cannot read the server root to size its backup: %v", err), Remediation: "check ServerRoot in the answers and run the wizard as root"}), nil
			}
			need := uint64(srBytes) + uint64(srBytes)/10 + 16<<20
			dir := existingParent(c.BackupDir)
			free, err := backup.FreeBytes(dir)
			if err != nil {
				return nil, fmt.Errorf("free space on %s: %w", dir, err)
			}
			// A backout restores the server root by extracting its archive into a
			// staging copy on the server root's volume and swapping it in; the
			// store and queue are carried by rename. So the volume must hold a
			// second server root (the upgraded one is still there), on top of the
			// backups when they share it.
			vol := c.backoutVolume()
			restoreNeed := restoreRoom(uint64(srBytes))
			volFree, err := backup.FreeBytes(vol)
			if err != nil {
				return nil, fmt.Errorf("free space on %s: %w", vol, err)
			}
			shared := sameDevice(vol, dir)
			total := restoreNeed
			if shared {
				total += need
			}
			if volFree < total {
				with := ""
				if shared {
					with = fmt.Sprintf(" (%s with the backups, on the same volume)", human(total))
				}
				fs = append(fs, wizard.Finding{ID: FindingBackoutRoom, Severity: wizard.Inhibitor,
					Message: fmt.Sprintf("a backout stages a copy of the server root on %s: it needs about %s there%s, and %s is free: the way back would fail exactly when it is needed",
						vol, human(restoreNeed), with, human(volFree)),
					Remediation: fmt.Sprintf("free %s on the volume of %s before the upgrade", human(total-volFree), vol)})
			}
			// Said in as few words as the preflight screen allows: the plan and the
			// preflight show the room a backout needs (issue 15 case 7).
			room := fmt.Sprintf("backups need about %s, a backout about %s more; %s free on %s", human(need), human(restoreNeed), human(free), dir)
			if !shared {
				room = fmt.Sprintf("backups need about %s; %s free on %s; a backout needs about %s on %s, %s free", human(need), human(free), dir, human(restoreNeed), vol, human(volFree))
			}
			if free < need {
				return append(fs, wizard.Finding{ID: "PRE-DISK-001", Severity: wizard.Inhibitor,
					Message:     fmt.Sprintf("the backups need about %s on %s, and %s is free", human(need), dir, human(free)),
					Remediation: fmt.Sprintf("free %s on that volume, or set BackupDir in [Wizard] to a larger one", human(need-free))}), nil
			}
			return append(fs, wizard.Finding{ID: "PRE-DISK-000", Severity: wizard.Info, Message: room}), nil
		},
	}.Step()
}

// restorable finds what would keep a backout from restoring the server root:
// the restore swaps the server-root directory by renaming it beside itself (or,
// for a mount point, swaps its contents), so the server root must be a real
// directory, not a symlink; and the journal must not live inside it, or the
// restore would bring back an old journal.
func (c *Config) restorable() []wizard.Finding {
	var fs []wizard.Finding
	root := c.Host.ServerRoot()
	if fi, err := os.Lstat(root); err == nil && fi.Mode()&os.ModeSymlink != 0 {
		target, _ := filepath.EvalSymlinks(root)
		fs = append(fs, wizard.Finding{ID: "PRE-ROOT-002", Severity: wizard.Inhibitor,
			Message:     fmt.Sprintf("ServerRoot %s is a symbolic link (to %s): a restore would replace the link, not the directory", root, target),
			Remediation: fmt.Sprintf("set ServerRoot in [General] to the real directory, %s", target)})
	}
	if c.Answers.StoreAction == "umount" {
		fs = append(fs, c.umountFindings(c.Host.StorePrimary())...)
	}
	for _, p := range []struct{ key, dir string }{{"StateDir", c.StateDir}} {
		if p.dir != "" && within(p.dir, root) {
			fs = append(fs, wizard.Finding{ID: "PRE-ROOT-003", Severity: wizard.Inhibitor,
				Message:     fmt.Sprintf("%s %s is inside the server root: a backout restores the server root and would bring back an old journal", p.key, p.dir),
				Remediation: fmt.Sprintf("set %s in [Wizard] to a directory outside %s", p.key, root)})
		}
	}
	return fs
}

func within(p, root string) bool {
	rel, err := filepath.Rel(filepath.Clean(root), filepath.Clean(p))
	return err == nil && rel != ".." && !strings.HasPrefix(rel, "../")
}

func existingParent(p string) string {
	for {
		if _, err := os.Stat(p); err == nil {
			return p
		}
		parent := filepath.Dir(p)
		if parent == p {
			return p
		}
		p = parent
	}
}

func human(n uint64) string { return wizard.HumanBytes(n) }

// archiveAction archives source into BackupDir as NAME.RUN (archiveBase),
// verified against its manifest before it gets its final name.
func (c *Config) archiveAction(env *wizard.Env, name, source string, exclude []string) wizard.Action {
	dest := c.BackupDir
	return wizard.Action{
		Summary:    fmt.Sprintf("archive %s -> %s (tar+zstd, sha256 manifest, verified)", source, filepath.Join(dest, c.archiveBase(name)+backup.ArchiveSuffix)),
		Idempotent: true,
		Do: func(ctx context.Context, r *wizard.Receipt) error {
			tag := c.runTag()
			if tag == "" {
				return fmt.Errorf("backup %s: the journal in %s names no run", source, c.StateDir)
			}
			if err := c.servicesDown(ctx, "archiving "+source); err != nil {
				return err
			}
			base := name + "." + tag
			// An archive under this run's own name is from this run, killed
			// before its done record: it no longer describes the source. It is
			// kept as NAME.RUN.previous until the new one is complete, so one
			// whole archive exists at every moment. No other name is touched.
			final := filepath.Join(dest, base+backup.ArchiveSuffix)
			finalM := filepath.Join(dest, base+backup.ManifestSuffix)
			prev := filepath.Join(dest, base+".previous"+backup.ArchiveSuffix)
			prevM := filepath.Join(dest, base+".previous"+backup.ManifestSuffix)
			if _, err := os.Lstat(final); err == nil {
				if err := os.Rename(finalM, prevM); err != nil && !errors.Is(err, os.ErrNotExist) {
					return fmt.Errorf("backup %s: keep the previous manifest: %w", source, err)
				}
				if err := atomicfile.Rename(final, prev); err != nil {
					return fmt.Errorf("backup %s: keep the previous archive: %w", source, err)
				}
			}
			files, bytes := c.sizeOf(ctx, source, exclude)
			res, err := backup.Create(ctx, backup.Options{Source: source, Dest: dest, Name: base, Exclude: exclude, Verify: true,
				Progress: backupProgress(env), TotalFiles: files, TotalBytes: bytes})
			if err != nil {
				return fmt.Errorf("backup %s: %w", source, err)
			}
			_ = os.Remove(prev)
			_ = os.Remove(prevM)
			rec := backupRecord{Name: name, Run: tag, Source: source, Archive: res.Archive, Manifest: res.Manifest, ManifestSHA256: res.ManifestSHA256, Files: res.Files, Bytes: res.Bytes, ArchiveSize: res.ArchiveSize}
			r.Files = []wizard.FileHash{{Path: res.Manifest, SHA256: res.ManifestSHA256}, {Path: res.Archive, Size: res.ArchiveSize}}
			if err := r.SetData(rec); err != nil {
				return err
			}
			return c.recordBackup(rec)
		},
	}
}

// BackupServerRoot is backup/server-root: the whole server root, less the store
// partition (moved aside by store/aside) and the backup directory (seed 003,
// backup steps 1 and 6).
func BackupServerRoot(c *Config) wizard.Step {
	return wizard.Phase{ID: "backup/server-root", Title: "Back up the whole server root",
		Plan: func(ctx context.Context, env *wizard.Env) ([]wizard.Action, error) {
			return []wizard.Action{c.archiveAction(env, serverRootArchive, c.Host.ServerRoot(), c.serverRootExcludes())}, nil
		},
		UndoText: "nothing: the archive stays in BackupDir",
	}.Step()
}

// queueFiles counts message files in the MTA queue (FORMATS.md §2.8: one
// directory per channel, `$` temporary files do not count).
// A queue directory that is a symlink (the queue on its own volume) is
// counted in the directory it points to.
func queueFiles(dir string) (int, error) {
	n := 0
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		dir = real
	}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.Type().IsRegular() && !strings.HasPrefix(d.Name(), "$") && p != dir {
			n++
		}
		return nil
	})
	return n, err
}

// BackupQueue is backup/queue: only when the queue holds messages (seed 003,
// backup step 2); an empty queue is recorded as such.
func BackupQueue(c *Config) wizard.Step {
	return wizard.Phase{ID: "backup/queue", Title: "Back up the MTA queue if it holds messages", Counts: c.queueCounts,
		Check: func(ctx context.Context, env *wizard.Env) (bool, string, error) {
			q, err := c.queueCount()
			return q.Value == 0, q.Text, err
		},
		Plan: func(ctx context.Context, env *wizard.Env) ([]wizard.Action, error) {
			return []wizard.Action{c.archiveAction(env, queueArchive, c.Host.QueueDir(), nil)}, nil
		},
		UndoText: "nothing: the archive stays in BackupDir",
	}.Step()
}

// storeState describes the store partition for the return check.
type storeState struct {
	Path  string   `json:"path"`
	Aside string   `json:"aside"`
	Mode  uint32   `json:"mode"`
	UID   int      `json:"uid"`
	GID   int      `json:"gid"`
	Top   []string `json:"top"`   // top-level entries
	Files int      `json:"files"` // regular files below
}

func describeStore(path string) (storeState, error) {
	st := storeState{Path: path}
	fi, err := os.Stat(path)
	if err != nil {
		return st, err
	}
	st.Mode = uint32(fi.Mode().Perm())
	if sys, ok := fi.Sys().(*syscall.Stat_t); ok {
		st.UID, st.GID = int(sys.Uid), int(sys.Gid)
	}
	ents, err := os.ReadDir(path)
	if err != nil {
		return st, err
	}
	for _, e := range ents {
		st.Top = append(st.Top, e.Name())
	}
	sort.Strings(st.Top)
	err = filepath.WalkDir(path, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			st.Files++
		}
		return err
	})
	return st, err
}

func isEmptyDir(p string) bool {
	ents, err := os.ReadDir(p)
	return err == nil && len(ents) == 0
}

// moveStoreAside renames the partition aside and makes an empty one with the same
// owner and mode, so nothing writes into the real store during the upgrade. Run
// again after a kill between the rename and the mkdir, it makes the empty
// partition; a partition that is a mount point is refused before anything moves.
func moveStoreAside(store, aside string) (storeState, error) {
	_, serr := os.Lstat(store)
	if _, err := os.Stat(aside); err == nil && (errors.Is(serr, os.ErrNotExist) || isEmptyDir(store)) {
		st, err := describeStore(aside)
		st.Path, st.Aside = store, aside
		if err != nil {
			return st, fmt.Errorf("store aside %s: %w", aside, err)
		}
		if serr == nil {
			return st, nil // moved already
		}
		return st, makeEmptyPartition(store, st)
	}
	st, err := describeStore(store)
	if err != nil {
		return st, fmt.Errorf("store %s: %w", store, err)
	}
	st.Aside = aside
	if _, err := os.Stat(aside); err == nil {
		return st, fmt.Errorf("store: %s already exists; a previous move aside was not returned — move it back by hand or run `mswizard backout`", aside)
	}
	if isMount(store) {
		return st, fmt.Errorf("store: %s is a mount point, which cannot be renamed aside; nothing was moved: set StoreAction = umount in [Wizard] so the wizard unmounts it instead (appendix C, backup step 5), then rerun", store)
	}
	if err := atomicfile.Rename(store, aside); err != nil {
		return st, fmt.Errorf("store: move aside: %w", err)
	}
	return st, makeEmptyPartition(store, st)
}

// isMount reports whether p is a mount point (wizard/mounts).
func isMount(p string) bool {
	m, _ := isMountPoint(p)
	return m
}

func makeEmptyPartition(store string, st storeState) error {
	if err := os.Mkdir(store, os.FileMode(st.Mode)); err != nil {
		return fmt.Errorf("store: create empty %s: %w", store, err)
	}
	_ = os.Chmod(store, os.FileMode(st.Mode))
	if err := os.Lchown(store, st.UID, st.GID); err != nil {
		return fmt.Errorf("store: chown %s: %w", store, err)
	}
	return atomicfile.SyncDir(filepath.Dir(store))
}

// returnStore puts the aside store back. Anything that arrived in the temporary
// partition meanwhile is carried into the returned store, never dropped.
func returnStore(store, aside string) ([]string, error) {
	var carried []string
	if _, err := os.Stat(aside); errors.Is(err, os.ErrNotExist) {
		return nil, nil // already returned
	}
	if _, err := os.Stat(store); err == nil {
		err := filepath.WalkDir(store, func(p string, d os.DirEntry, err error) error {
			if err != nil || p == store {
				return err
			}
			rel, _ := filepath.Rel(store, p)
			dst := filepath.Join(aside, rel)
			fi, err := os.Lstat(dst)
			switch {
			case err == nil && d.IsDir() && fi.IsDir():
				return nil // merge into the directory the store already has
			case err == nil:
				// Never over a file of the store, nor over one an
				// earlier return carried.
				if dst, err = unusedName(dst + ".carried"); err != nil {
					return err
				}
			case !errors.Is(err, os.ErrNotExist):
				return err
			}
			// One rename moves a file, or a directory new to the store with
			// everything below it, keeping owner, mode and times.
			if d.IsDir() {
				files, err := regularFiles(p, rel)
				if err != nil {
					return err
				}
				if err := os.Rename(p, dst); err != nil {
					return err
				}
				carried = append(carried, files...)
				return filepath.SkipDir
			}
			if err := os.Rename(p, dst); err != nil {
				return err
			}
			carried = append(carried, rel)
			return nil
		})
		if err != nil {
			return carried, fmt.Errorf("store: carry new messages into %s: %w", aside, err)
		}
		if err := os.RemoveAll(store); err != nil {
			return carried, fmt.Errorf("store: remove temporary partition: %w", err)
		}
	}
	if err := atomicfile.Rename(aside, store); err != nil {
		return carried, fmt.Errorf("store: move back: %w", err)
	}
	return carried, nil
}

// unusedName is p, or p.1, p.2, ... the first name nothing has.
func unusedName(p string) (string, error) {
	for i := 0; ; i++ {
		name := p
		if i > 0 {
			name = fmt.Sprintf("%s.%d", p, i)
		}
		if _, err := os.Lstat(name); errors.Is(err, os.ErrNotExist) {
			return name, nil
		} else if err != nil {
			return "", err
		}
	}
}

// regularFiles lists the regular files below dir, named under rel.
func regularFiles(dir, rel string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			r, _ := filepath.Rel(dir, p)
			out = append(out, filepath.Join(rel, r))
		}
		return err
	})
	return out, err
}

// StoreAside is store/aside (seed 003, backup step 5): the primary partition is
// renamed aside and an empty one made in its place, so the upgrade cannot write
// into the store. StoreAction = umount unmounts it instead.
func StoreAside(c *Config) wizard.Step {
	store := c.Host.StorePrimary()
	aside := store + storeAsideSuffix
	if c.Answers.StoreAction == "umount" {
		return storeUmount(c, store)
	}
	return wizard.Phase{ID: "store/aside", Title: "Move the message store aside", Establishes: []wizard.Fact{facts.StoreAside}, Backout: wizard.BackoutKey{Stage: wizard.BackoutReturn},
		Check: func(ctx context.Context, env *wizard.Env) (bool, string, error) {
			if _, err := os.Stat(aside); err == nil {
				if isEmptyDir(store) {
					return true, "the store is already aside at " + aside, nil
				}
				if _, err := os.Lstat(store); errors.Is(err, os.ErrNotExist) {
					return false, "the store is aside at " + aside + " but the empty partition is not made yet", nil
				}
			}
			return false, "the store is in place", nil
		},
		Plan: func(ctx context.Context, env *wizard.Env) ([]wizard.Action, error) {
			return []wizard.Action{{
				Summary:    fmt.Sprintf("move %s -> %s; create an empty %s with the same owner and mode", store, aside, filepath.Base(store)),
				Idempotent: true,
				Do: func(ctx context.Context, r *wizard.Receipt) error {
					if err := c.servicesDown(ctx, "moving the store aside"); err != nil {
						return err
					}
					st, err := moveStoreAside(store, aside)
					if err != nil {
						return err
					}
					r.Note = fmt.Sprintf("%d file(s), %d top-level entries", st.Files, len(st.Top))
					return r.SetData(st)
				},
			}}, nil
		},
		Undo: func(ctx context.Context, env *wizard.Env, rs []wizard.Receipt) ([]wizard.Action, error) {
			return []wizard.Action{{
				Summary:    fmt.Sprintf("move %s back -> %s (new messages carried over)", aside, store),
				Idempotent: true,
				Do: func(ctx context.Context, r *wizard.Receipt) error {
					carried, err := returnStore(store, aside)
					if len(carried) > 0 {
						r.Note = fmt.Sprintf("carried %d new message file(s) into the returned store", len(carried))
						_ = r.SetData(map[string]any{"carried": carried})
					}
					return err
				},
			}}, nil
		},
		UndoText: "move the store back into place, carrying over messages delivered meanwhile",
	}.Step()
}

// StoreReturn is post/store-return (seed 003, post-upgrade step 2), with a check
// that the returned store is the one moved aside: the same top-level entries and
// at least as many files.
func StoreReturn(c *Config) wizard.Step {
	store := c.Host.StorePrimary()
	aside := store + storeAsideSuffix
	if c.Answers.StoreAction == "umount" {
		return storeRemount(c, store)
	}
	return wizard.Phase{ID: "post/store-return", Title: "Return the message store", Establishes: []wizard.Fact{wizard.Not(facts.StoreAside)}, Backout: wizard.BackoutKey{Stage: wizard.BackoutSetAside},
		Check: func(ctx context.Context, env *wizard.Env) (bool, string, error) {
			if _, err := os.Stat(aside); errors.Is(err, os.ErrNotExist) && !env.Projected(facts.StoreAside) {
				return true, "the store is in place", nil
			}
			return false, "the store is aside at " + aside, nil
		},
		Plan: func(ctx context.Context, env *wizard.Env) ([]wizard.Action, error) {
			src := aside // a whole-run plan: the store that store/aside will move
			if _, err := os.Stat(aside); err != nil && env.Projected(facts.StoreAside) {
				src = store
			}
			before, err := describeStore(src)
			if err != nil {
				return nil, fmt.Errorf("store aside: %w", err)
			}
			return []wizard.Action{{
				// The count goes to the receipt, not the summary: mail delivered
				// between a plan and the stops changes it.
				Summary:    fmt.Sprintf("move %s back -> %s and check it is the same store (every file back)", aside, store),
				Idempotent: true,
				Do: func(ctx context.Context, r *wizard.Receipt) error {
					carried, err := returnStore(store, aside)
					if err != nil {
						return err
					}
					after, err := describeStore(store)
					if err != nil {
						return err
					}
					for _, name := range before.Top {
						if !slices.Contains(after.Top, name) {
							return fmt.Errorf("store return: %s is missing from the returned store", name)
						}
					}
					if after.Files < before.Files {
						return fmt.Errorf("store return: %d files before, %d after", before.Files, after.Files)
					}
					r.Note = fmt.Sprintf("%d file(s) aside, %d returned, %d carried from the temporary partition", before.Files, after.Files, len(carried))
					return r.SetData(after)
				},
			}}, nil
		},
		Undo: func(ctx context.Context, env *wizard.Env, rs []wizard.Receipt) ([]wizard.Action, error) {
			return []wizard.Action{{
				Summary:    fmt.Sprintf("move %s aside again -> %s", store, aside),
				Idempotent: true,
				Do: func(ctx context.Context, r *wizard.Receipt) error {
					if _, err := os.Stat(aside); err == nil {
						return nil
					}
					_, err := moveStoreAside(store, aside)
					return err
				},
			}}, nil
		},
		UndoText: "move the store aside again, so the rest of the backout returns it once",
	}.Step()
}

// BackupVerify is backup/verify, the gate: no step after it runs until every
// archive of this run re-reads equal to its manifest.
func BackupVerify(c *Config) wizard.Step {
	return wizard.Phase{ID: "backup/verify", Title: "Verify every archive before anything destructive",
		Plan: func(ctx context.Context, env *wizard.Env) ([]wizard.Action, error) {
			return []wizard.Action{{
				Summary:    fmt.Sprintf("verify the archives listed in %s against their manifests", c.backupIndex()),
				Idempotent: true,
				Do: func(ctx context.Context, r *wizard.Receipt) error {
					idx, err := c.readBackupIndex()
					if err != nil {
						return err
					}
					tag := c.runTag()
					if rec, ok := idx[serverRootArchive]; !ok || (rec.Run != "" && rec.Run != tag) {
						return errors.New("verify: no server-root archive of this run is recorded; backup/server-root must run first")
					}
					var names []string
					for name, rec := range idx {
						if rec.Run == "" || rec.Run == tag {
							names = append(names, name) // archives of earlier runs are theirs
						}
					}
					sort.Strings(names)
					for _, name := range names {
						rec := idx[name]
						// The manifest first: an archive and manifest replaced
						// together under their names read as consistent.
						if err := backup.CheckManifestHash(rec.Manifest, rec.ManifestSHA256); err != nil {
							return fmt.Errorf("verify %s: %w", rec.Archive, err)
						}
						err := backup.Verify(ctx, rec.Archive, rec.Manifest, backupProgress(env))
						if err != nil {
							return fmt.Errorf("verify %s: %w", rec.Archive, err)
						}
						r.Files = append(r.Files, wizard.FileHash{Path: rec.Manifest, SHA256: rec.ManifestSHA256})
					}
					r.Note = fmt.Sprintf("verified %s", strings.Join(names, ", "))
					return nil
				},
			}}, nil
		},
		UndoText: "nothing",
	}.Step()
}
