package steps

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"mswizard/backup"
	"mswizard/wizard"
	"mswizard/wizard/answers"
	"mswizard/wizard/atomicfile"
)

// installedVersion reads msg-INSTANCE/VERSION, the installer's version marker.
func (c *Config) installedVersion() (string, error) {
	b, err := os.ReadFile(c.Host.VersionFile())
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

func (c *Config) isTarget(v string) bool {
	return strings.HasSuffix(v, " "+c.Answers.TargetVersion) || v == c.Answers.TargetVersion
}

// configBackups lists msg-INSTANCE/backup.TIMESTAMP directories, oldest first.
func (c *Config) configBackups() []string {
	m, _ := filepath.Glob(c.Host.BackupGlob())
	var dirs []string
	for _, p := range m {
		if fi, err := os.Stat(p); err == nil && fi.IsDir() {
			dirs = append(dirs, p)
		}
	}
	sort.Strings(dirs)
	return dirs
}

// installerLeftovers lists the backup.TIMESTAMP directories made after the
// server-root archive: an installer of this run made them. Older ones, from
// upgrades before, are part of the archived tree.
func (c *Config) installerLeftovers() []string {
	rec, err := c.serverRootRecord()
	if err != nil {
		return nil
	}
	afi, err := os.Stat(rec.Archive)
	if err != nil {
		return nil
	}
	var out []string
	for _, d := range c.configBackups() {
		if fi, err := os.Stat(d); err == nil && !fi.ModTime().Before(afi.ModTime()) {
			out = append(out, d)
		}
	}
	return out
}

// serverRootRecord is the server-root archive of this run, from the backup index.
func (c *Config) serverRootRecord() (backupRecord, error) {
	idx, err := c.readBackupIndex()
	if err != nil {
		return backupRecord{}, err
	}
	rec, ok := idx[serverRootArchive]
	if !ok {
		return backupRecord{}, errors.New("no server-root archive is recorded in " + c.backupIndex())
	}
	return rec, nil
}

// installerAnswers renders the answers for the installer: the same install.inf,
// with secrets given by reference written inline (the installer reads only its
// own keys) and the upgrade choice set (seed 003 step 6: "[2] Upgrade").
func installerAnswers(a *answers.Answers) []byte {
	var b bytes.Buffer
	sawMS := false
	for _, s := range a.File.Sections {
		if s.Name == answers.Wiz {
			continue // ours, not the installer's
		}
		fmt.Fprintf(&b, "[%s]\n", s.Name)
		for _, kv := range s.Keys {
			if name, ok := strings.CutSuffix(kv.Key, "File"); ok && strings.HasSuffix(name, "Pwd") {
				switch name {
				case "UserDirectoryAdminPwd":
					fmt.Fprintf(&b, "%s = %s\n", name, a.UserDirectoryAdminPwd.Reveal())
				case "ConfigDirectoryAdminPwd":
					fmt.Fprintf(&b, "%s = %s\n", name, a.ConfigDirectoryAdminPwd.Reveal())
				}
				continue
			}
			if s.Name == "MessagingServer" && (kv.Key == "UpgradeChoice" || kv.Key == "InstallType") {
				continue
			}
			fmt.Fprintf(&b, "%s = %s\n", kv.Key, strings.ReplaceAll(kv.Value, "\n", "\\\n"))
		}
		if s.Name == "MessagingServer" {
			b.WriteString("UpgradeChoice = 2\n")
			sawMS = true
		}
		b.WriteString("\n")
	}
	if !sawMS {
		b.WriteString("[MessagingServer]\nUpgradeChoice = 2\n")
	}
	return b.Bytes()
}

// installerRun is the receipt data of upgrade/run-installer.
type installerRun struct {
	VersionBefore string `json:"version_before"`
	VersionAfter  string `json:"version_after"`
	ConfigBackup  string `json:"config_backup"` // msg-INSTANCE/backup.TIMESTAMP
	MadeBackup    bool   `json:"made_from_archive,omitempty"`
	Log           string `json:"log"`
}

// RunInstaller is upgrade/run-installer: the new version's setup, silently with
// the answers file (seed 003, "Messaging Server 5.2 へのアップグレード"). Secrets
// reach it only through a 0600 copy of the answers, removed afterwards.
func RunInstaller(c *Config) wizard.Step {
	return &installerStep{c: c}
}

type installerStep struct{ c *Config }

func (s *installerStep) ID() string    { return "upgrade/run-installer" }
func (s *installerStep) Title() string { return "Run the new version's installer (Upgrade)" }
func (s *installerStep) PointOfNoReturn() string {
	return "the installer moves the configuration into backup.TIMESTAMP and lays down the new version; only a restore of the verified server-root archive takes it back"
}
func (s *installerStep) UndoDescription() string {
	return "restore the server root from its verified archive, carrying over queued and newly delivered mail"
}

func (s *installerStep) Check(ctx context.Context, env *wizard.Env) (bool, string, error) {
	v, err := s.c.installedVersion()
	if err != nil {
		return false, "", fmt.Errorf("version marker: %w", err)
	}
	if s.c.isTarget(v) {
		return true, "installed version is already " + v, nil
	}
	return false, "installed version is " + v, nil
}

func (s *installerStep) logPath() string { return filepath.Join(s.c.StateDir, "installer.log") }

func (s *installerStep) Plan(ctx context.Context, env *wizard.Env) ([]wizard.Action, error) {
	c := s.c
	copyPath := filepath.Join(c.StateDir, "install.inf.installer")
	cmd := wizard.Command{Path: c.Answers.Installer, Args: []string{"-s", "-f", copyPath}, Timeout: 2 * time.Hour}
	return []wizard.Action{{
		Summary:      cmd.String(),
		Irreversible: "short of restoring the server-root archive",
		Do: func(ctx context.Context, r *wizard.Receipt) error {
			before, _ := c.installedVersion()
			// An installer that died half-way (killed with the wizard, or by
			// itself) left its backup.TIMESTAMP and a configuration that is
			// neither version. Run again on that, it would detect nothing and
			// move nothing: the customizations and ports would be lost. The
			// retry starts from the verified pre-installer archive.
			if left := c.installerLeftovers(); len(left) > 0 && !c.isTarget(before) {
				rec, err := c.serverRootRecord()
				if err != nil {
					return err
				}
				env.Output(r.Step, fmt.Sprintf("a previous installer run stopped half-way (%s); restoring %s from %s first", strings.Join(left, ", "), c.Host.ServerRoot(), rec.Archive))
				if _, err := c.restoreServerRoot(ctx, env, rec); err != nil {
					return fmt.Errorf("undo the half-done installer run: %w", err)
				}
				before, _ = c.installedVersion()
			}
			// The copy holds secrets: 0600, and removed whatever happens.
			if err := atomicfile.WriteFile(copyPath, installerAnswers(c.Answers), 0o600); err != nil {
				return err
			}
			defer os.Remove(copyPath)
			logf, err := os.OpenFile(s.logPath(), os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
			if err != nil {
				return err
			}
			defer logf.Close()
			run := cmd
			run.Output = io.MultiWriter(logf, lineWriter(func(l string) { env.Output(r.Step, l) }))
			res, err := env.Exec.Run(ctx, run)
			r.Command = &res
			if err != nil {
				return fmt.Errorf("installer: %w (full output in %s)", err, s.logPath())
			}
			after, _ := c.installedVersion()
			if !c.isTarget(after) {
				return fmt.Errorf("installer exited 0 but %s still says %q", c.Host.VersionFile(), after)
			}
			rec := installerRun{VersionBefore: before, VersionAfter: after, Log: s.logPath()}
			if bs := c.configBackups(); len(bs) > 0 {
				rec.ConfigBackup = bs[len(bs)-1]
			} else {
				// The diff needs its old side: make backup.TIMESTAMP from the
				// verified server-root archive.
				dir, err := c.backupFromArchive(ctx, env)
				if err != nil {
					return err
				}
				rec.ConfigBackup, rec.MadeBackup = dir, true
			}
			r.Note = fmt.Sprintf("%s -> %s; old configuration in %s", before, after, rec.ConfigBackup)
			return r.SetData(rec)
		},
	}}, nil
}

// ResolveInDoubt decides from evidence what became of an installer run the wizard
// was killed during; it never re-runs the installer blindly.
func (s *installerStep) ResolveInDoubt(ctx context.Context, env *wizard.Env, action int, summary string) (wizard.Resolution, error) {
	v, err := s.c.installedVersion()
	if err != nil {
		return wizard.Undecided, err
	}
	if s.c.isTarget(v) {
		return wizard.WasDone, nil
	}
	if len(s.c.installerLeftovers()) == 0 {
		return wizard.NotDone, nil // the installer changed nothing yet
	}
	return wizard.Undecided, nil
}

// backupFromArchive recreates msg-INSTANCE/backup.TIMESTAMP from the server-root
// archive, for installers that do not keep one.
func (c *Config) backupFromArchive(ctx context.Context, env *wizard.Env) (string, error) {
	idx, err := c.readBackupIndex()
	if err != nil {
		return "", err
	}
	rec, ok := idx[serverRootArchive]
	if !ok {
		return "", errors.New("no backup.TIMESTAMP and no server-root archive to make one from")
	}
	// Extract beside the destination, on the same filesystem, so the moves
	// below are renames (StateDir may be on another volume).
	tmp, err := os.MkdirTemp(c.Host.MsgDir(), ".mswizard-restore-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	if err := backup.RestoreInto(ctx, rec.Archive, filepath.Join(tmp, "sr"), nil); err != nil {
		return "", err
	}
	msgRel, _ := filepath.Rel(c.Host.ServerRoot(), c.Host.MsgDir())
	dst := filepath.Join(c.Host.MsgDir(), "backup."+env.Now().Format("20060102150405"))
	for _, rel := range []string{"config/local.conf", "config/msg.conf", "imta/config", "html"} {
		src := filepath.Join(tmp, "sr", msgRel, rel)
		if _, err := os.Stat(src); err != nil {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dst, rel)), 0o755); err != nil {
			return "", err
		}
		if err := os.Rename(src, filepath.Join(dst, rel)); err != nil {
			return "", err
		}
	}
	// The old configuration is the diff's only old side now: make it durable
	// before the step records it.
	if err := syncFS(dst); err != nil {
		return "", err
	}
	return dst, nil
}

func (s *installerStep) Undo(ctx context.Context, env *wizard.Env, rs []wizard.Receipt) ([]wizard.Action, error) {
	c := s.c
	idx, err := c.readBackupIndex()
	if err != nil {
		return nil, err
	}
	rec, ok := idx[serverRootArchive]
	if !ok {
		return nil, errors.New("no server-root archive is recorded in " + c.backupIndex())
	}
	return []wizard.Action{{
		Summary:    fmt.Sprintf("restore %s from %s (verified), carrying over the queue and the store", c.Host.ServerRoot(), rec.Archive),
		Idempotent: true,
		Do: func(ctx context.Context, r *wizard.Receipt) error {
			carried, err := c.restoreServerRoot(ctx, env, rec)
			if len(carried) > 0 {
				r.Note = fmt.Sprintf("carried over %d queued or delivered message file(s)", len(carried))
				_ = r.SetData(map[string]any{"carried": carried})
			}
			return err
		},
	}}, nil
}

// putBack returns carried directories to their places after a failed restore,
// where nothing took their place, and says where the mail is.
func putBack(carry string, moves [][2]string) string {
	var kept []string
	for _, m := range moves {
		if _, err := os.Lstat(m[0]); err != nil {
			continue
		}
		if isEmptyDir(m[1]) {
			_ = os.Remove(m[1])
		}
		if _, err := os.Lstat(m[1]); errors.Is(err, os.ErrNotExist) {
			if err := atomicfile.Rename(m[0], m[1]); err == nil {
				continue
			}
		}
		kept = append(kept, fmt.Sprintf("%s (belongs at %s)", m[0], m[1]))
	}
	if len(kept) > 0 {
		return "the live mail is kept safe in " + strings.Join(kept, ", ") + "; a rerun carries it over"
	}
	_ = os.Remove(carry)
	return "the live queue and store are back in place; nothing was lost"
}

// carryName is the directory inside a mounted server root that holds the live
// queue and store through a restore; it is never archived nor restored.
const carryName = ".mswizard-carry"

// carryDir is where restoreServerRoot keeps the live queue and store during
// the restore: beside the server root, or inside it when the server root is a
// mount point (an HA shared disk), whose parent is another filesystem. A carry
// left by an interrupted run is used again wherever it is. inside reports the
// latter: the restore then swaps the server root's contents, keeping the carry.
func (c *Config) carryDir() (dir string, inside bool) {
	root := c.Host.ServerRoot()
	in := filepath.Join(root, carryName)
	beside := filepath.Join(filepath.Dir(root), "."+filepath.Base(root)+carryName)
	if _, err := os.Lstat(in); err == nil {
		return in, true
	}
	if _, err := os.Lstat(beside); err == nil {
		return beside, false
	}
	if m, err := isMountPoint(root); err == nil && m {
		return in, true
	}
	return beside, false
}

// restoreServerRoot puts the pre-upgrade server root back. Mail must not be lost
// (seed 003 backout step 2: save the store elsewhere when it was not backed up):
// the live queue and store partition are moved out first and put back after, and
// queued messages that arrived since the backup are merged into the restored queue.
// A server root that is a mount point is restored by swapping its contents,
// with the mail carried inside it.
func (c *Config) restoreServerRoot(ctx context.Context, env *wizard.Env, rec backupRecord) ([]string, error) {
	carry, inside := c.carryDir()
	var keep []string
	if inside {
		keep = []string{carryName}
	}
	queueCarry := filepath.Join(carry, "queue")
	storeCarry := filepath.Join(carry, "store")
	if err := os.MkdirAll(carry, 0o700); err != nil {
		return nil, err
	}
	moveIfPresent := func(src, dst string) error {
		if _, err := os.Stat(dst); err == nil {
			return nil // moved before an interruption
		}
		if _, err := os.Stat(src); errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return atomicfile.Rename(src, dst)
	}
	if err := moveIfPresent(c.Host.QueueDir(), queueCarry); err != nil {
		return nil, fmt.Errorf("carry queue: %w", err)
	}
	if err := moveIfPresent(c.Host.StorePrimary(), storeCarry); err != nil {
		return nil, fmt.Errorf("carry store: %w", err)
	}
	// The store moved aside by store/aside lies inside the server root and
	// outside its archive: a restore would drop it with the mail it holds.
	aside := c.Host.StorePrimary() + storeAsideSuffix
	asideCarry := filepath.Join(carry, "store-aside")
	if err := moveIfPresent(aside, asideCarry); err != nil {
		return nil, fmt.Errorf("carry the store set aside: %w", err)
	}
	err := backup.Restore(ctx, rec.Archive, backup.RestoreOptions{Target: c.Host.ServerRoot(), Now: env.Now, Contents: inside, Keep: keep,
		Progress: func(p backup.Progress) {
			env.Progress(wizard.Progress{What: "bytes", Done: p.Bytes, Total: p.TotalBytes, DoneFiles: p.Files, TotalFiles: p.TotalFiles})
		}})
	if err != nil {
		return nil, fmt.Errorf("restore %s: %w; %s", c.Host.ServerRoot(), err, putBack(carry, [][2]string{
			{queueCarry, c.Host.QueueDir()}, {storeCarry, c.Host.StorePrimary()}, {asideCarry, aside}}))
	}
	var carried []string
	// Queue: the live queue is the truth — what it held at the backup was either
	// delivered since or is still in it — so it replaces the restored one whole.
	if _, err := os.Stat(queueCarry); err == nil {
		_ = filepath.WalkDir(queueCarry, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.Type().IsRegular() {
				rel, _ := filepath.Rel(queueCarry, p)
				carried = append(carried, filepath.Join("queue", rel))
			}
			return nil
		})
		if err := os.RemoveAll(c.Host.QueueDir()); err != nil {
			return carried, err
		}
		if err := atomicfile.Rename(queueCarry, c.Host.QueueDir()); err != nil {
			return carried, fmt.Errorf("carry queue back: %w", err)
		}
	}
	// Store: the archive left the partition out; the carried one goes back whole.
	if _, err := os.Stat(storeCarry); err == nil {
		if isEmptyDir(c.Host.StorePrimary()) {
			_ = os.Remove(c.Host.StorePrimary())
		}
		if err := os.MkdirAll(filepath.Dir(c.Host.StorePrimary()), 0o755); err != nil {
			return carried, err
		}
		if err := atomicfile.Rename(storeCarry, c.Host.StorePrimary()); err != nil {
			return carried, fmt.Errorf("carry store back: %w", err)
		}
	}
	if _, err := os.Stat(asideCarry); err == nil {
		if err := atomicfile.Rename(asideCarry, aside); err != nil {
			return carried, fmt.Errorf("carry the store set aside back: %w", err)
		}
	}
	if !inside {
		return carried, os.RemoveAll(carry)
	}
	// The carry's removal touches the restored root's mtime: keep it.
	fi, err := os.Stat(c.Host.ServerRoot())
	if err != nil {
		return carried, err
	}
	if err := os.RemoveAll(carry); err != nil {
		return carried, err
	}
	return carried, os.Chtimes(c.Host.ServerRoot(), fi.ModTime(), fi.ModTime())
}

// syncFS flushes the filesystem holding dir (syncfs(2)): every file just
// written or moved there is on disk when it returns.
func syncFS(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := syncfsFD(int(f.Fd())); err != nil {
		return fmt.Errorf("syncfs %s: %w", dir, err)
	}
	return nil
}
