package steps

import (
	"context"
	"encoding/json"
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
		"To go back to what an archive holds: stop the services, then `mswizard backup restore ARCHIVE --answers %s` "+
		"(it restores %s keeping the live store partition and queue, once the services are proved down; "+
		"give the manifest's sha256 from that run's report with --manifest-sha256, as no journal here records it). "+
		"To start a new run anyway — nothing found is overwritten or deleted, and the new archives are named for the new run — rerun with --new-run, or add `Waive = %s REASON` to [Wizard]",
		c.StateDir, c.answersPath(), c.Host.ServerRoot(), FindingEarlierRun)
	if len(foreign) > 0 {
		fix += fmt.Sprintf("; keep %s: it may be the only copy of the server root before an upgrade", foreign[0])
	}
	return []wizard.Finding{{ID: FindingEarlierRun, Severity: wizard.Inhibitor,
		Message:     "this journal is new, but the host holds what an earlier run left: " + strings.Join(what, "; "),
		Remediation: fix}}, nil
}

// answersPath names the answers file in a command to give the operator.
func (c *Config) answersPath() string {
	if c.Answers == nil || c.Answers.Path == "" {
		return "FILE"
	}
	if abs, err := filepath.Abs(c.Answers.Path); err == nil {
		return abs
	}
	return c.Answers.Path
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
	if err := RefuseWhileInstallerRuns(ctx, c); err != nil {
		return err
	}
	return c.servicesDown(ctx, "restoring "+c.Host.ServerRoot())
}

// ErrNoRecordedHash is RestoreArchive's refusal of an archive whose manifest
// hash nothing records (the state directory's backup index and journal do not
// name it) when the operator gave none and did not accept that explicitly.
var ErrNoRecordedHash = errors.New("no sha256 of the manifest is recorded")

// ArchiveRestore is what an operator asks of RestoreArchive: an archive of the
// server root, and the manifest's sha256 when no journal records it.
type ArchiveRestore struct {
	Archive string
	// ManifestSHA256 is the operator's record of the manifest's sha256 (the
	// run's report, `backup create`'s output); it must agree with a recorded one.
	ManifestSHA256 string
	// Unrecorded accepts the manifest as it is when nothing records its hash.
	Unrecorded bool
}

// RestoreArchive puts the server root back to what an archive of it holds, by
// hand (`mswizard backup restore ARCHIVE --answers FILE`): the way back
// PRE-RUN-001 names when an earlier run's journal is gone. It is the backout's
// restore (restoreServerRoot): the live store partition, the store set aside,
// the queue and whatever else the archive's manifest records as left out are
// carried into the restored tree, so no mail is lost; the manifest's hash is
// compared with the recorded one; the services must be proved down and no
// installer may run; and it holds the server root's host-wide lock, so no run
// acts on the server root meanwhile. It returns the queued or delivered
// message files carried over.
func (c *Config) RestoreArchive(ctx context.Context, env *wizard.Env, req ArchiveRestore) ([]string, error) {
	archive, err := filepath.Abs(req.Archive)
	if err != nil {
		return nil, err
	}
	if !strings.HasSuffix(archive, backup.ArchiveSuffix) {
		return nil, fmt.Errorf("%s is not an archive (NAME%s)", archive, backup.ArchiveSuffix)
	}
	manifest := backup.ManifestPath(archive)
	m, err := backup.OpenManifest(manifest)
	if err != nil {
		return nil, err
	}
	source := m.Header.Source
	m.Close()
	root := c.Host.ServerRoot()
	if filepath.Clean(source) != filepath.Clean(root) {
		return nil, fmt.Errorf("%s is an archive of %s, not of the server root %s: only a server-root archive is restored this way", archive, source, root)
	}
	recorded, where := c.recordedManifestHash(archive, manifest)
	want := recorded
	switch {
	case recorded != "" && req.ManifestSHA256 != "" && !strings.EqualFold(recorded, req.ManifestSHA256):
		return nil, &backup.VerifyError{Reason: fmt.Sprintf("the sha256 given for %s, %s, is not the one %s records, %s", manifest, req.ManifestSHA256, where, recorded)}
	case recorded == "" && req.ManifestSHA256 != "":
		want = strings.ToLower(req.ManifestSHA256)
	case recorded == "" && req.Unrecorded:
		want, err = backup.ManifestHash(manifest)
		if err != nil {
			return nil, err
		}
		env.Output("restore", fmt.Sprintf("no sha256 of %s is recorded; restoring it as it is (sha256 %s), as asked", manifest, want))
	case recorded == "":
		return nil, fmt.Errorf("%w in %s (backups.json or the journal) for %s: an archive replaced under its name could not be told from yours", ErrNoRecordedHash, c.StateDir, manifest)
	}
	l, err := journal.LockServerRoot(root, c.StateDir, env.Now())
	if err != nil {
		return nil, err
	}
	defer l.Close()
	return c.restoreServerRoot(ctx, env, backupRecord{Name: serverRootArchive, Source: source, Archive: archive, Manifest: manifest, ManifestSHA256: want})
}

// recordedManifestHash is the sha256 recorded for the manifest of archive:
// in the state directory's backup index, or in a backup action's receipt in its
// journal (a journal whose index was lost). It names where it found it.
func (c *Config) recordedManifestHash(archive, manifest string) (string, string) {
	if idx, err := c.readBackupIndex(); err == nil {
		for _, r := range idx {
			if r.Archive == archive && r.ManifestSHA256 != "" {
				return r.ManifestSHA256, c.backupIndex()
			}
		}
	}
	recs, _ := journal.Read(c.StateDir)
	for i := len(recs) - 1; i >= 0; i-- {
		if len(recs[i].Receipt) == 0 {
			continue
		}
		var rc wizard.Receipt
		if json.Unmarshal(recs[i].Receipt, &rc) != nil {
			continue
		}
		for _, f := range rc.Files {
			if f.Path == manifest && f.SHA256 != "" {
				return f.SHA256, filepath.Join(c.StateDir, journal.FileName)
			}
		}
	}
	return "", ""
}
