package steps

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"

	"mswizard/backup"
	"mswizard/wizard"
	"mswizard/wizard/journal"
)

// FindingEarlierRun is the preflight finding that stops a run whose journal
// does not know the archives, backup.TIMESTAMP directories or version it finds:
// they belong to an earlier run whose journal is gone (deleted, cleaned at
// boot, or another StateDir), and they may be the host's only way back.
const FindingEarlierRun = "PRE-RUN-001"

// FindingBackoutRoom is the preflight inhibitor for a server-root volume that
// cannot hold the staged copy a backout's restore makes.
const FindingBackoutRoom = "PRE-DISK-003"

// runTag names the current run (the journal's epoch: from its first record, or
// the first after the last backout) in archive names, so that no run ever
// writes over, or deletes, an archive another run made. It is "" before the
// journal holds a record of this epoch (a plan of a run not started yet).
func (c *Config) runTag() string {
	recs, err := journal.Read(c.StateDir)
	if err != nil {
		return ""
	}
	start := 0
	for i, r := range recs {
		if r.Kind == journal.KindBackoutDone {
			start = i + 1
		}
	}
	if start >= len(recs) {
		return ""
	}
	return tagOf(recs[start].Run)
}

var tagUnsafe = regexp.MustCompile(`[^A-Za-z0-9_-]`)

func tagOf(run string) string { return tagUnsafe.ReplaceAllString(run, "_") }

// newRunTag is what a plan shows for the name part a run not started yet gets.
const newRunTag = "RUN"

// archiveBase is NAME.TAG, the base name of this run's archive NAME.
func (c *Config) archiveBase(name string) string {
	tag := c.runTag()
	if tag == "" {
		tag = newRunTag
	}
	return name + "." + tag
}

// archiveFile matches the archives and manifests the wizard writes into
// BackupDir, with or without a run tag (older wizards wrote none).
var archiveFile = regexp.MustCompile(`^(server-root|queue)(\.[^/]*)?(` + regexp.QuoteMeta(backup.ArchiveSuffix) + `|` + regexp.QuoteMeta(backup.ManifestSuffix) + `)$`)

// earlierRun lists what on the host this journal does not account for: archives
// in BackupDir it did not make, msg-INSTANCE/backup.TIMESTAMP directories when
// it never ran the installer, and a version marker already at the target. Only a
// journal that has changed nothing yet in this epoch asks: once it has, what it
// finds is its own or is left alone (its archives are named for it).
func (c *Config) earlierRun(ctx context.Context, env *wizard.Env) ([]wizard.Finding, error) {
	recs, err := journal.Read(c.StateDir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	if wizard.Fold(recs).Changed() {
		return nil, nil
	}
	ours := map[string]bool{}
	installerRan := false
	for _, r := range recs {
		ours[tagOf(r.Run)] = true
		if r.Step == "upgrade/run-installer" && r.Kind == journal.KindBegin {
			installerRan = true
		}
	}
	idx, _ := c.readBackupIndex()
	known := map[string]bool{}
	for _, r := range idx {
		known[r.Archive], known[r.Manifest] = true, true
	}
	var foreign []string
	ents, err := os.ReadDir(c.BackupDir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("backup directory: %w", err)
	}
	for _, e := range ents {
		m := archiveFile.FindStringSubmatch(e.Name())
		if m == nil || m[3] != backup.ArchiveSuffix {
			continue
		}
		p := filepath.Join(c.BackupDir, e.Name())
		if known[p] || (m[2] != "" && ours[strings.TrimPrefix(m[2], ".")]) {
			continue
		}
		foreign = append(foreign, p)
	}
	var leftovers []string
	if !installerRan {
		leftovers = c.configBackups()
	}
	v := c.installedVersion(ctx, env)
	upgraded := !installerRan && v.Known() && v.Is(c.Answers.TargetVersion)
	if len(foreign) == 0 && len(leftovers) == 0 && !upgraded {
		return nil, nil
	}
	sort.Strings(foreign)
	var what []string
	if len(foreign) > 0 {
		what = append(what, "archives this journal did not make: "+strings.Join(foreign, ", "))
	}
	if len(leftovers) > 0 {
		what = append(what, "installer backups of an earlier upgrade: "+strings.Join(leftovers, ", "))
	}
	if upgraded {
		what = append(what, fmt.Sprintf("the installed version is already %s", v))
	}
	fix := fmt.Sprintf("these belong to an earlier run whose journal is not in %s (deleted, or another StateDir). "+
		"If that run's state directory still exists, go on with it (--state-dir DIR). "+
		"To go back to what an archive holds: stop the services, then `mswizard backup restore ARCHIVE --target %s`. "+
		"To start a new run anyway — nothing found is overwritten or deleted, and the new archives are named for the new run — rerun with --new-run, or add `Waive = %s REASON` to [Wizard]",
		c.StateDir, c.Host.ServerRoot(), FindingEarlierRun)
	if len(foreign) > 0 {
		fix += fmt.Sprintf("; keep %s: it may be the only copy of the server root before an upgrade", foreign[0])
	}
	return []wizard.Finding{{ID: FindingEarlierRun, Severity: wizard.Inhibitor,
		Message:     "this journal is new, but the host holds what an earlier run left: " + strings.Join(what, "; "),
		Remediation: fix}}, nil
}

// backoutRoom is where a backout's restore stages its copy of the server root:
// beside it (its parent's volume), or inside it when the server root is a
// mount point whose contents are swapped (backup.Restore).
func (c *Config) backoutVolume() string {
	root := c.Host.ServerRoot()
	if isMount(root) {
		return root
	}
	return existingParent(filepath.Dir(root))
}

func sameDevice(a, b string) bool {
	var x, y syscall.Stat_t
	return syscall.Stat(a, &x) == nil && syscall.Stat(b, &y) == nil && x.Dev == y.Dev
}

// ProveDown is what the steps that act on a stopped server need from
// steps/service: every service the pre-upgrade stops stop is down now, proved
// by the process table and the listening sockets (host-facts F-PROC-001,
// F-PROC-002), or an error naming what runs.
type provenDown interface {
	ProveDown(ctx context.Context) error
}

// servicesDown proves again, right before a destructive action (an archive, the
// store move, the installer, a restore), that the services the run stopped are
// still down: after a power cut the boot scripts start the mail server again,
// and a resumed run skips the stops its journal says are done.
func (c *Config) servicesDown(ctx context.Context, what string) error {
	var p provenDown = c.Service()
	if err := p.ProveDown(ctx); err != nil {
		return fmt.Errorf("%s refused: %w; stop them again (the stop steps' commands in `mswizard plan`), then rerun", what, err)
	}
	return nil
}

// beforeRestore is what every restore of the server root passes first: the
// archive's manifest is the one recorded when it was made (an archive replaced
// under its name is never restored), the services are down, and no installer
// is still at work on the server root.
func (c *Config) beforeRestore(ctx context.Context, rec backupRecord) error {
	if err := backup.CheckManifestHash(rec.Manifest, rec.ManifestSHA256); err != nil {
		return fmt.Errorf("restore %s from %s: %w", c.Host.ServerRoot(), rec.Archive, err)
	}
	if err := RefuseWhileInstallerRuns(c); err != nil {
		return err
	}
	return c.servicesDown(ctx, "restoring "+c.Host.ServerRoot())
}
