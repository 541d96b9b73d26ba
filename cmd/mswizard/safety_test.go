package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"mswizard/wizard"
	"mswizard/wizard/journal"
)

// The end-to-end tests of the ten ways a host could lose its way back (issue
// 15). Each one walks the scenario through the real binary; none of them loses
// the pre-upgrade archive, the journal or mail.

// runIn runs the binary with dir as its working directory.
func runIn(t *testing.T, dir, bin string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return string(out), ee.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(out), 0
}

// indexed is one archive of the state directory's backups.json.
type indexed struct {
	Archive        string `json:"archive"`
	Manifest       string `json:"manifest"`
	ManifestSHA256 string `json:"manifest_sha256"`
	Run            string `json:"run"`
}

func backupIndex(t *testing.T, stateDir string) map[string]indexed {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(stateDir, "backups.json"))
	if err != nil {
		t.Fatal(err)
	}
	idx := map[string]indexed{}
	if err := json.Unmarshal(b, &idx); err != nil {
		t.Fatal(err)
	}
	return idx
}

func fileSHA(t *testing.T, p string) string {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func (h *simHost) secret(t *testing.T) string {
	t.Helper()
	pw, err := os.ReadFile(filepath.Join(h.w.SecretsDir(), "ldap.pw"))
	if err != nil || strings.TrimSpace(string(pw)) == "" {
		t.Fatalf("the world has no bind password: %v", err)
	}
	return strings.TrimSpace(string(pw))
}

// requireNoSecretIn fails when a file below dir holds the bind password. The
// LDIF exports are left out: they are the directories' own data, password
// attributes included, kept 0600 as a backup of them.
func (h *simHost) requireNoSecretIn(t *testing.T, dir string) {
	t.Helper()
	secret := h.secret(t)
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.IsDir() && fi.Name() == "ldif" {
			return filepath.SkipDir
		}
		if err == nil && fi.Mode().IsRegular() {
			if b, _ := os.ReadFile(p); strings.Contains(string(b), secret) {
				t.Errorf("%s holds the bind password", p)
			}
		}
		return nil
	})
}

func (h *simHost) startServices(t *testing.T) {
	t.Helper()
	sh(t, h.w.StartAdmin())
	sh(t, h.w.StartMsg())
	for _, inst := range h.w.WebInstances() {
		sh(t, h.w.WebStart(inst))
	}
}

func (h *simHost) tarballs(t *testing.T) []string {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(h.w.BackupDir(), "*.tar.zst"))
	return m
}

// slowInstaller puts a wrapper in front of the world's installer: it notes
// each start (its pid and arguments) in the returned file, waits delay, and
// execs the real one — long enough to kill the wizard under it.
func (h *simHost) slowInstaller(t *testing.T, delay time.Duration) string {
	t.Helper()
	setup := h.w.Installer()
	real := setup + ".real"
	if err := os.Rename(setup, real); err != nil {
		t.Fatal(err)
	}
	starts := filepath.Join(filepath.Dir(setup), "starts.log")
	script := fmt.Sprintf("#!/bin/sh\necho \"$$ $*\" >> %s\nsleep %d\nexec %s \"$@\"\n", starts, int(delay.Seconds()), real)
	if err := os.WriteFile(setup, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return starts
}

// installerStarts lists the pids the wrapper noted, one per start.
func installerStarts(t *testing.T, starts string) []int {
	t.Helper()
	b, _ := os.ReadFile(starts)
	var pids []int
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if f := strings.Fields(l); len(f) > 0 {
			pid, err := strconv.Atoi(f[0])
			if err != nil {
				t.Fatalf("starts.log: %q", l)
			}
			pids = append(pids, pid)
		}
	}
	return pids
}

func waitFile(t *testing.T, p string, d time.Duration) {
	t.Helper()
	for deadline := time.Now().Add(d); ; time.Sleep(50 * time.Millisecond) {
		if b, err := os.ReadFile(p); err == nil && len(b) > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not appear in %s", p, d)
		}
	}
}

func waitGone(t *testing.T, pid int, d time.Duration) {
	t.Helper()
	for deadline := time.Now().Add(d); ; time.Sleep(100 * time.Millisecond) {
		if _, ok := readProc(pid); !ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("pid %d still runs after %s", pid, d)
		}
	}
}

// Case 1: the journal is gone, the backups are not. A fresh journal — the
// state directory deleted, or another StateDir — finds the earlier run's
// archive and the installer's backup.TIMESTAMP and stops before anything
// changes, naming them and how to go on; the archive is never overwritten, and
// it still takes the host back to 5.1.
func TestAFreshJournalStopsAtAnEarlierRunsArchives(t *testing.T) {
	t.Parallel()
	requireTools(t)
	bin := buildBinary(t)
	h := upHost(t, bin, hostOptions{seed: 61})
	if out, code := run(t, bin, "upgrade", "--answers", h.inf, "--yes"); code != 0 {
		t.Fatalf("upgrade: exit %d\n%s", code, out)
	}
	h.requireVersion(t, "5.2")
	rec := backupIndex(t, h.w.StateDir())["server-root"]
	if rec.Run == "" || !strings.Contains(filepath.Base(rec.Archive), "."+rec.Run+".") {
		t.Fatalf("the archive %s is not named for its run %q", rec.Archive, rec.Run)
	}
	sum := fileSHA(t, rec.Archive)
	configBackups, _ := filepath.Glob(h.w.BackupGlob())
	if len(configBackups) == 0 {
		t.Fatal("the installer left no backup.TIMESTAMP")
	}

	refused := func(out string, code int) {
		t.Helper()
		if code != 1 {
			t.Fatalf("exit %d, want 1:\n%s", code, out)
		}
		for _, want := range []string{"PRE-RUN-001", rec.Archive, configBackups[0], "--new-run", "mswizard backup restore"} {
			if !strings.Contains(out, want) {
				t.Errorf("the refusal does not name %q:\n%s", want, out)
			}
		}
		if strings.Contains(out, "$ ") {
			t.Errorf("actions ran:\n%s", out)
		}
	}
	// Another state directory on the same host.
	other := filepath.Join(t.TempDir(), "other-state")
	out, code := run(t, bin, "upgrade", "--answers", h.inf, "--state-dir", other, "--yes")
	refused(out, code)
	// The plan shows it too.
	out, code = run(t, bin, "plan", "--answers", h.inf, "--state-dir", other)
	if code != 0 || !strings.Contains(out, "PRE-RUN-001") {
		t.Fatalf("plan: exit %d\n%s", code, out)
	}
	// The state directory deleted.
	if err := os.RemoveAll(h.w.StateDir()); err != nil {
		t.Fatal(err)
	}
	out, code = run(t, bin, "upgrade", "--answers", h.inf, "--yes")
	refused(out, code)
	refusal := out

	// --new-run goes on beside it: new archives with names of their own.
	out, code = run(t, bin, "upgrade", "--answers", h.inf, "--yes", "--new-run", "--until", "backup/verify")
	if code != 0 {
		t.Fatalf("--new-run: exit %d\n%s", code, out)
	}
	if fresh := backupIndex(t, h.w.StateDir())["server-root"]; fresh.Archive == rec.Archive || fresh.Run == rec.Run {
		t.Fatalf("the new run archived over the earlier run's archive %s", rec.Archive)
	}
	if got := fileSHA(t, rec.Archive); got != sum {
		t.Fatalf("the earlier run's archive changed: sha256 %s, was %s", got, sum)
	}
	// And the earlier archive is still the way back, as the finding says:
	// the command it prints, followed as printed, keeps every message.
	remedy := printedRestore(t, refusal, rec.Archive)
	withHash := slices.Concat(remedy, []string{"--manifest-sha256", rec.ManifestSHA256})
	// Under running services it refuses: unknown is not down, running is not.
	h.startServices(t)
	if out, code := run(t, bin, withHash...); code != 1 || !strings.Contains(out, "running") {
		t.Fatalf("%v under running services: exit %d, want 1 naming what runs\n%s", withHash, code, out)
	}
	stopWorldServices(t, h)
	// From here no service runs: no message leaves the host by itself.
	kept := h.keep(t, rec.Archive)
	if len(kept.mail) == 0 {
		t.Fatal("the world holds no mail to lose")
	}
	// Without the manifest's recorded hash (the journal that recorded it is
	// gone) it asks for it, and touches nothing.
	if out, code := run(t, bin, remedy...); code != 2 || !strings.Contains(out, "--manifest-sha256") {
		t.Fatalf("%v without a recorded sha256: exit %d, want 2 naming --manifest-sha256\n%s", remedy, code, out)
	}
	// A plain --target refuses a server root: it would replace it whole.
	if out, code := run(t, bin, "backup", "restore", rec.Archive, "--target", h.w.ServerRoot()); code != 2 || !strings.Contains(out, "--answers") {
		t.Fatalf("backup restore --target SERVER-ROOT: exit %d, want 2 naming --answers\n%s", code, out)
	}
	h.requireNothingLost(t, bin, kept)
	// A hash that is not the recorded one is refused.
	wrong := slices.Concat(remedy, []string{"--manifest-sha256", strings.Repeat("0", 64)})
	if out, code := run(t, bin, wrong...); code != 5 {
		t.Fatalf("%v: exit %d, want 5\n%s", wrong, code, out)
	}
	out, code = run(t, bin, withHash...)
	if code != 0 {
		t.Fatalf("%v: exit %d\n%s", withHash, code, out)
	}
	h.requireVersion(t, "5.1")
	h.requireNothingLost(t, bin, kept)
}

// printedRestore is the restore command PRE-RUN-001 prints, as arguments of
// the binary, with ARCHIVE replaced by archive.
func printedRestore(t *testing.T, out, archive string) []string {
	t.Helper()
	i := strings.Index(out, "`mswizard backup restore ")
	if i < 0 {
		t.Fatalf("the refusal prints no `mswizard backup restore` command:\n%s", out)
	}
	cmd, _, ok := strings.Cut(out[i+1:], "`")
	if !ok {
		t.Fatalf("unterminated command in:\n%s", out)
	}
	args := strings.Fields(cmd)[1:]
	for i, a := range args {
		if a == "ARCHIVE" {
			args[i] = archive
		}
	}
	return args
}

// kept is what the ten scenarios must never lose: the pre-upgrade archive
// (its sha256) and the mail kept on the host (messages by Message-ID).
type kept struct {
	archive, sum string
	mail         map[string]string
}

// localMail is the mail the host keeps, by Message-ID: in the store
// partition, the store set aside and the queue of the message store's channel
// (ims-ms), whose messages the MTA delivers into the store with their
// Message-ID, so they are counted wherever they are. The other channels'
// messages (tcp_* to other hosts, l to UNIX mailboxes) leave the MTA's and the
// store's keeping when delivered while the services run: a delivery is not a
// loss, so they are not counted.
func (h *simHost) localMail(t *testing.T) map[string]string {
	t.Helper()
	// The queue first: a live host delivers from the ims-ms queue into the
	// store, and a message moved between two scans must not fall between them.
	return messageIDs(t, filepath.Join(h.w.QueueDir(), "ims-ms"), h.w.StorePrimary(), h.w.StorePrimary()+".mswizard-aside")
}

// keep records what requireNothingLost later holds the host to; archive is
// "" when no pre-upgrade archive exists yet (withArchive adds it once made).
func (h *simHost) keep(t *testing.T, archive string) kept {
	t.Helper()
	return kept{mail: h.localMail(t)}.withArchive(t, archive)
}

func (k kept) withArchive(t *testing.T, archive string) kept {
	t.Helper()
	k.archive, k.sum = archive, ""
	if archive != "" {
		k.sum = fileSHA(t, archive)
	}
	return k
}

// requireNothingLost is issue 15's promise, checked at the end of each
// scenario: the pre-upgrade archive is the one made, the journal is readable
// (`status` reads it), and every message the host kept is still on it (as
// many as before; mail that arrived since, a probe, may add to them).
func (h *simHost) requireNothingLost(t *testing.T, bin string, k kept) {
	t.Helper()
	if k.archive != "" {
		if got := fileSHA(t, k.archive); got != k.sum {
			t.Errorf("the pre-upgrade archive %s changed: sha256 %s, was %s", k.archive, got, k.sum)
		}
	}
	if _, err := os.Stat(filepath.Join(h.w.StateDir(), journal.FileName)); err == nil {
		if out, code := run(t, bin, "status", "--answers", h.inf); code != 0 {
			t.Errorf("status cannot read the journal: exit %d\n%s", code, out)
		}
	}
	var lost []string
	// A message in the middle of its delivery (a live host) is looked for
	// again a moment later; one lost stays lost.
	for try := 0; try < 5; try++ {
		have := h.localMail(t)
		lost = lost[:0]
		for id, p := range k.mail {
			if _, ok := have[id]; !ok {
				lost = append(lost, id+" (was "+p+")")
			}
		}
		if len(lost) == 0 {
			break
		}
		time.Sleep(time.Second)
	}
	if len(lost) > 0 {
		t.Errorf("mail lost: %d of the %d messages kept on the host are gone, e.g. %s", len(lost), len(k.mail), lost[0])
	}
}

// Case 2: relative paths. StateDir and BackupDir given relative in the answers
// resolve against the answers file, wherever the wizard runs from; the
// journal pins them absolute; a relative --state-dir is made absolute.
func TestRelativePathsArePinnedAbsolute(t *testing.T) {
	t.Parallel()
	requireTools(t)
	bin := buildBinary(t)
	h := upHost(t, bin, hostOptions{seed: 62, wizard: []string{"StateDir = state", "BackupDir = ./backups/../backups"}})
	// PristineDefaults, one of the other path keys, given relative too.
	pristine := relativeKey(t, h.inf, "PristineDefaults")
	dirA, dirB := t.TempDir(), t.TempDir()
	k := h.keep(t, "")
	rel, err := filepath.Rel(dirA, h.inf)
	if err != nil {
		t.Fatal(err)
	}
	if out, code := runIn(t, dirA, bin, "upgrade", "--answers", rel, "--yes", "--until", "stop/admin"); code != 0 {
		t.Fatalf("upgrade from %s: exit %d\n%s", dirA, code, out)
	}
	for _, stray := range []string{"state", "backups"} {
		if _, err := os.Stat(filepath.Join(dirA, stray)); err == nil {
			t.Errorf("a relative %s was resolved against the working directory", stray)
		}
	}
	recs, err := journal.Read(h.w.StateDir())
	if err != nil {
		t.Fatalf("no journal in %s: %v", h.w.StateDir(), err)
	}
	pin := wizard.Fold(recs).Pin
	if pin == nil || pin.Paths["state directory"] != h.w.StateDir() || pin.Paths["backup directory"] != h.w.BackupDir() || pin.Paths["server root"] != h.w.ServerRoot() ||
		pin.Paths["PristineDefaults"] != pristine {
		t.Fatalf("the journal pins %+v", pin)
	}
	// From elsewhere: the same journal, going on where it stopped.
	out, code := runIn(t, dirB, bin, "upgrade", "--answers", h.inf, "--yes", "--until", "backup/verify")
	if code != 0 || !strings.Contains(out, "--- stop/dispatcher: already done") || strings.Contains(out, "PRE-RUN-001") {
		t.Fatalf("rerun from %s: exit %d\n%s", dirB, code, out)
	}
	idx := backupIndex(t, h.w.StateDir())
	if !strings.HasPrefix(idx["server-root"].Archive, h.w.BackupDir()+"/") {
		t.Fatalf("archive %s is not in %s", idx["server-root"].Archive, h.w.BackupDir())
	}
	k = k.withArchive(t, idx["server-root"].Archive)
	// A relative --state-dir names the same directory.
	out, code = runIn(t, filepath.Dir(h.w.StateDir()), bin, "status", "--state-dir", "state")
	if code != 0 || !strings.Contains(out, "state directory: "+h.w.StateDir()+"\n") || !strings.Contains(out, "done       backup/verify") {
		t.Fatalf("status --state-dir state: exit %d\n%s", code, out)
	}
	// The answers file moved: its relative paths resolve elsewhere, and the
	// journal refuses the different inputs rather than start over.
	moved := filepath.Join(dirB, "install.inf")
	copyFile(t, h.inf, moved)
	out, code = run(t, bin, "upgrade", "--answers", moved, "--state-dir", h.w.StateDir(), "--yes")
	if code != 2 || !strings.Contains(out, "backup directory: journal "+h.w.BackupDir()) || !strings.Contains(out, "PristineDefaults: journal "+pristine) {
		t.Fatalf("moved answers: exit %d\n%s", code, out)
	}
	h.requireNothingLost(t, bin, k)
}

// relativeKey rewrites the absolute path of key in the answers file at inf as
// a path relative to the file's directory, and returns the absolute one.
func relativeKey(t *testing.T, inf, key string) string {
	t.Helper()
	b, err := os.ReadFile(inf)
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(key) + ` = (.*)$`)
	m := re.FindSubmatch(b)
	if m == nil || !filepath.IsAbs(string(m[1])) {
		t.Fatalf("%s holds no absolute %s", inf, key)
	}
	abs := filepath.Clean(string(m[1]))
	rel, err := filepath.Rel(filepath.Dir(inf), abs)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(inf, re.ReplaceAllLiteral(b, []byte(key+" = "+rel)), 0o600); err != nil {
		t.Fatal(err)
	}
	return abs
}

// Case 3: an archive and manifest replaced together under their names (a
// consistent pair, but not the backup this run made) fail verify with exit 5
// and are never restored; with the real ones back the run and the backout go
// through.
func TestAnArchiveReplacedUnderItsNameIsNeverVerifiedNorRestored(t *testing.T) {
	t.Parallel()
	requireTools(t)
	bin := buildBinary(t)
	h := upHost(t, bin, hostOptions{seed: 63})
	if out, code := run(t, bin, "upgrade", "--answers", h.inf, "--yes", "--until", "backup/server-root"); code != 0 {
		t.Fatalf("upgrade --until backup/server-root: exit %d\n%s", code, out)
	}
	rec := backupIndex(t, h.w.StateDir())["server-root"]
	k := h.keep(t, rec.Archive)
	// A well-formed impostor: a real archive of another tree.
	other := filepath.Join(t.TempDir(), "other")
	if err := os.MkdirAll(filepath.Join(other, "msg-x"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(other, "msg-x", "VERSION"), []byte("not the server root\n"), 0o644)
	fake := t.TempDir()
	if out, code := run(t, bin, "backup", "create", "--source", other, "--dest", fake); code != 0 {
		t.Fatalf("backup create: exit %d\n%s", code, out)
	}
	fa, _ := filepath.Glob(filepath.Join(fake, "*.tar.zst"))
	fm, _ := filepath.Glob(filepath.Join(fake, "*.manifest.jsonl"))
	if len(fa) != 1 || len(fm) != 1 {
		t.Fatalf("backup create made %v %v", fa, fm)
	}
	keep := t.TempDir()
	swap := func() {
		t.Helper()
		copyFile(t, rec.Archive, filepath.Join(keep, "a"))
		copyFile(t, rec.Manifest, filepath.Join(keep, "m"))
		copyFile(t, fa[0], rec.Archive)
		copyFile(t, fm[0], rec.Manifest)
	}
	putBack := func() {
		t.Helper()
		copyFile(t, filepath.Join(keep, "a"), rec.Archive)
		copyFile(t, filepath.Join(keep, "m"), rec.Manifest)
	}
	swap()
	out, code := run(t, bin, "upgrade", "--answers", h.inf, "--yes", "--until", "backup/verify")
	if code != 5 || !strings.Contains(out, "was replaced or changed") {
		t.Fatalf("verify of a replaced archive: exit %d, want 5\n%s", code, out)
	}
	putBack()
	if out, code := run(t, bin, "upgrade", "--answers", h.inf, "--yes"); code != 0 {
		t.Fatalf("upgrade with the real archive: exit %d\n%s", code, out)
	}
	h.requireVersion(t, "5.2")
	swap()
	out, code = run(t, bin, "backout", "--answers", h.inf, "--yes")
	if code != 5 || !strings.Contains(out, "was replaced or changed") {
		t.Fatalf("backout from a replaced archive: exit %d, want 5\n%s", code, out)
	}
	h.requireVersion(t, "5.2") // nothing restored from it
	if _, err := os.Stat(filepath.Join(h.w.ServerRoot(), "msg-x")); err == nil {
		t.Fatal("the impostor's tree was restored")
	}
	putBack()
	if out, code := run(t, bin, "backout", "--answers", h.inf, "--yes"); code != 0 {
		t.Fatalf("backout with the real archive: exit %d\n%s", code, out)
	}
	h.requireVersion(t, "5.1")
	h.requireNothingLost(t, bin, k)
}

// Case 4: after a power cut the boot scripts start the mail server again; the
// resumed run, whose journal says the stops are done, proves the services
// down again before it archives (and before a restore), and refuses while
// they run.
func TestAResumedRunProvesTheServicesDownBeforeItActs(t *testing.T) {
	t.Parallel()
	requireTools(t)
	bin := buildBinary(t)
	t.Run("before the archives", func(t *testing.T) {
		h := upHost(t, bin, hostOptions{seed: 64})
		k := h.keep(t, "")
		if out, code := run(t, bin, "upgrade", "--answers", h.inf, "--yes", "--until", "ha/prepare"); code != 0 {
			t.Fatalf("upgrade --until ha/prepare: exit %d\n%s", code, out)
		}
		h.startServices(t) // the boot scripts
		out, code := run(t, bin, "upgrade", "--answers", h.inf, "--yes")
		if code != 1 || !strings.Contains(out, "services the run stopped are running again") || !strings.Contains(out, "refused") {
			t.Fatalf("rerun under live services: exit %d\n%s", code, out)
		}
		if got := h.tarballs(t); len(got) != 0 {
			t.Fatalf("archives were made under live services: %v", got)
		}
		if _, err := os.Stat(h.w.StorePrimary() + ".mswizard-aside"); err == nil {
			t.Fatal("the store was moved under live services")
		}
		stopWorldServices(t, h)
		if out, code := run(t, bin, "upgrade", "--answers", h.inf, "--yes"); code != 0 {
			t.Fatalf("rerun with the services down: exit %d\n%s", code, out)
		}
		h.requireVersion(t, "5.2")
		h.requireNothingLost(t, bin, k)
	})
	t.Run("before the restore", func(t *testing.T) {
		h := upHost(t, bin, hostOptions{seed: 65, undecided: true})
		if out, code := run(t, bin, "upgrade", "--answers", h.inf, "--yes"); code != 3 {
			t.Fatalf("upgrade with an undecided conflict: exit %d, want 3\n%s", code, out)
		}
		h.requireVersion(t, "5.2")
		mail := h.injectMail(t, 3, 0, 65)
		k := h.keep(t, backupIndex(t, h.w.StateDir())["server-root"].Archive)
		h.startServices(t)
		out, code := run(t, bin, "backout", "--answers", h.inf, "--yes")
		if code != 1 || !strings.Contains(out, "services the run stopped are running again") {
			t.Fatalf("backout under live services: exit %d\n%s", code, out)
		}
		h.requireVersion(t, "5.2")
		stopWorldServices(t, h)
		if out, code := run(t, bin, "backout", "--answers", h.inf, "--yes"); code != 0 {
			t.Fatalf("backout with the services down: exit %d\n%s", code, out)
		}
		h.requireVersion(t, "5.1")
		h.requireMail(t, mail)
		h.requireNothingLost(t, bin, k)
	})
}

// Case 5 and 9 (part): a second run with another state directory on the same
// server root is locked out (exit 4, naming the holder) while the first works;
// the first finishes, and its installer's answers copy is gone.
func TestASecondRunOnTheSameServerRootIsLockedOut(t *testing.T) {
	t.Parallel()
	requireTools(t)
	bin := buildBinary(t)
	h := upHost(t, bin, hostOptions{seed: 66})
	k := h.keep(t, "")
	starts := h.slowInstaller(t, 3*time.Second)
	first := startChild(t, bin, "upgrade", "--answers", h.inf, "--yes")
	waitFile(t, starts, 2*time.Minute)
	// FAULTS.md S2: while the installer runs, the secret is in no process's
	// arguments nor environment (it reaches the installer in a 0600 file).
	requireNoSecretInProcs(t, h.secret(t))
	other := filepath.Join(t.TempDir(), "other-state")
	out, code := run(t, bin, "upgrade", "--answers", h.inf, "--state-dir", other, "--yes")
	if code != 4 {
		t.Fatalf("second run: exit %d, want 4\n%s", code, out)
	}
	for _, want := range []string{"server root " + h.w.ServerRoot() + " is in use", h.w.StateDir(), fmt.Sprintf("pid %d", first.cmd.Process.Pid)} {
		if !strings.Contains(out, want) {
			t.Errorf("the refusal does not say %q:\n%s", want, out)
		}
	}
	if recs, err := journal.Read(other); err != nil || len(recs) != 0 {
		t.Errorf("the refused run journaled %d record(s) (%v)", len(recs), err)
	}
	<-first.done
	if first.code != 0 {
		t.Fatalf("first run: exit %d\n%s", first.code, first.out.String())
	}
	if n := len(installerStarts(t, starts)); n != 1 {
		t.Fatalf("the installer started %d times", n)
	}
	if _, err := os.Stat(filepath.Join(h.w.StateDir(), "install.inf.installer")); err == nil {
		t.Error("the installer's answers copy is left after the run")
	}
	h.requireNoSecretIn(t, h.w.StateDir())
	h.requireNothingLost(t, bin, k)
}

// Cases 6 and 9: the wizard is killed with -9 while the installer runs in its
// own process group. The rerun finds the installer still at work and refuses
// (never a second one), as does `resolve --retry`; once it exited, the rerun
// decides from its result, and the answers copy with the secrets is gone —
// removed at the start of the next run, an upgrade or a backout.
func TestAnInstallerThatOutlivedItsWizardIsNeverRunTwice(t *testing.T) {
	t.Parallel()
	requireTools(t)
	bin := buildBinary(t)
	// The silent installer (`setup -s -f COPY`) is the one that reads a copy
	// of the answers with the secrets in it; the interactive one gets them on
	// its supervisor's stdin.
	killMidInstaller := func(t *testing.T, seed int64) (*simHost, string, int) {
		h := upHost(t, bin, hostOptions{seed: seed, wizard: []string{"InstallerMode = silent"}})
		// A silent upgrade carries the installer's own choice (seed 003 step 6).
		b, err := os.ReadFile(h.inf)
		if err != nil || !strings.Contains(string(b), "[MessagingServer]\n") {
			t.Fatalf("answers without [MessagingServer]: %v", err)
		}
		if err := os.WriteFile(h.inf, []byte(strings.Replace(string(b), "[MessagingServer]\n", "[MessagingServer]\nUpgradeChoice = 2\n", 1)), 0o600); err != nil {
			t.Fatal(err)
		}
		starts := h.slowInstaller(t, 6*time.Second)
		c := startChild(t, bin, "upgrade", "--answers", h.inf, "--yes")
		waitFile(t, starts, 2*time.Minute)
		_ = c.cmd.Process.Signal(syscall.SIGKILL) // the wizard alone
		<-c.done
		pids := installerStarts(t, starts)
		if len(pids) != 1 {
			t.Fatalf("installer starts: %v", pids)
		}
		if _, ok := readProc(pids[0]); !ok {
			t.Fatal("the installer died with its wizard; the scenario needs it alive")
		}
		if b, err := os.ReadFile(filepath.Join(h.w.StateDir(), "install.inf.installer")); err != nil || !strings.Contains(string(b), h.secret(t)) {
			t.Fatalf("no answers copy with the secret under the live installer (%v)", err)
		}
		return h, starts, pids[0]
	}
	t.Run("rerun", func(t *testing.T) {
		h, starts, pid := killMidInstaller(t, 67)
		k := h.keep(t, backupIndex(t, h.w.StateDir())["server-root"].Archive)
		out, code := run(t, bin, "upgrade", "--answers", h.inf, "--yes")
		if code == 0 || !strings.Contains(out, "an installer is still running") || !strings.Contains(out, fmt.Sprintf("pid %d", pid)) {
			t.Fatalf("rerun under the live installer: exit %d\n%s", code, out)
		}
		out, code = run(t, bin, "resolve", "upgrade/run-installer", "--retry", "--answers", h.inf)
		if code == 0 || !strings.Contains(out, "an installer is still running") {
			t.Fatalf("resolve --retry under the live installer: exit %d\n%s", code, out)
		}
		waitGone(t, pid, 2*time.Minute)
		if out, code := run(t, bin, "upgrade", "--answers", h.inf, "--yes"); code != 0 {
			t.Fatalf("rerun after the installer exited: exit %d\n%s", code, out)
		}
		if n := len(installerStarts(t, starts)); n != 1 {
			t.Fatalf("the installer started %d times", n)
		}
		h.requireVersion(t, "5.2")
		if _, err := os.Stat(filepath.Join(h.w.StateDir(), "install.inf.installer")); err == nil {
			t.Error("the answers copy survived the rerun")
		}
		h.requireNoSecretIn(t, h.w.StateDir())
		h.requireNothingLost(t, bin, k)
	})
	t.Run("a run of another state directory", func(t *testing.T) {
		// The journal is lost or another StateDir is given: the server
		// root's installer record, beside it, names the live installer.
		h, starts, pid := killMidInstaller(t, 69)
		k := h.keep(t, backupIndex(t, h.w.StateDir())["server-root"].Archive)
		other := t.TempDir()
		for _, args := range [][]string{
			{"upgrade", "--answers", h.inf, "--yes", "--state-dir", other},
			{"upgrade", "--answers", h.inf, "--yes", "--state-dir", other, "--new-run"},
		} {
			out, code := run(t, bin, args...)
			if code == 0 || !strings.Contains(out, "an installer is still running") || !strings.Contains(out, fmt.Sprintf("pid %d", pid)) {
				t.Fatalf("%v under the live installer: exit %d\n%s", args, code, out)
			}
		}
		if recs, err := journal.Read(other); err == nil {
			for _, r := range recs {
				if r.Step != "" {
					t.Fatalf("the refused run journaled %s %s", r.Kind, r.Step)
				}
			}
		}
		waitGone(t, pid, 2*time.Minute)
		if out, code := run(t, bin, "upgrade", "--answers", h.inf, "--yes"); code != 0 {
			t.Fatalf("rerun of the first run after the installer exited: exit %d\n%s", code, out)
		}
		if n := len(installerStarts(t, starts)); n != 1 {
			t.Fatalf("the installer started %d times", n)
		}
		h.requireVersion(t, "5.2")
		h.requireNothingLost(t, bin, k)
	})
	t.Run("backout", func(t *testing.T) {
		h, starts, pid := killMidInstaller(t, 68)
		k := h.keep(t, backupIndex(t, h.w.StateDir())["server-root"].Archive)
		waitGone(t, pid, 2*time.Minute)
		out, code := run(t, bin, "backout", "--answers", h.inf, "--yes")
		if code != 0 {
			t.Fatalf("backout: exit %d\n%s", code, out)
		}
		h.requireVersion(t, "5.1")
		if _, err := os.Stat(filepath.Join(h.w.StateDir(), "install.inf.installer")); err == nil {
			t.Error("the answers copy survived the backout")
		}
		h.requireNoSecretIn(t, h.w.StateDir())
		if n := len(installerStarts(t, starts)); n != 1 {
			t.Fatalf("the installer started %d times", n)
		}
		h.requireNothingLost(t, bin, k)
	})
}

// Case 10: commands that read a damaged journal refuse with its line number
// instead of showing an empty run; a record of an unknown version is refused,
// never cut; answers files that cannot be read are usage errors (exit 2).
func TestDamagedJournalsAndUnreadableAnswersAreRefused(t *testing.T) {
	t.Parallel()
	requireTools(t)
	bin := buildBinary(t)
	h := upHost(t, bin, hostOptions{seed: 69, noStart: true})
	k := h.keep(t, "")
	if out, code := run(t, bin, "upgrade", "--answers", h.inf, "--yes", "--until", "preflight/ha-probe"); code != 0 {
		t.Fatalf("upgrade --until preflight/ha-probe: exit %d\n%s", code, out)
	}
	path := filepath.Join(h.w.StateDir(), journal.FileName)
	good, _ := os.ReadFile(path)
	lines := strings.SplitAfter(string(good), "\n")
	if len(lines) < 4 {
		t.Fatalf("journal has %d lines", len(lines))
	}
	// A flipped byte in the second line.
	bad := []byte(string(good))
	i := strings.Index(string(bad), "\n") + 20
	bad[i] ^= 0x01
	os.WriteFile(path, bad, 0o600)
	for _, args := range [][]string{
		{"status", "--answers", h.inf},
		{"plan", "--answers", h.inf},
		{"backout", "--dry-run", "--answers", h.inf},
		{"upgrade", "--answers", h.inf, "--yes"},
	} {
		out, code := run(t, bin, args...)
		if code == 0 || !strings.Contains(out, "journal corrupt at line 2") {
			t.Errorf("%s on a damaged journal: exit %d\n%s", args[0], code, out)
		}
	}
	if after, _ := os.ReadFile(path); string(after) != string(bad) {
		t.Error("a command changed the damaged journal")
	}
	// A last record of a newer format: refused, not cut as a torn write.
	newer := resealLast(t, string(good), 2)
	os.WriteFile(path, []byte(newer), 0o600)
	for _, args := range [][]string{{"status", "--answers", h.inf}, {"upgrade", "--answers", h.inf, "--yes"}} {
		out, code := run(t, bin, args...)
		if code == 0 || !strings.Contains(out, "record version 2") || !strings.Contains(out, fmt.Sprintf("line %d", len(lines)-1)) {
			t.Errorf("%s on a newer last record: exit %d\n%s", args[0], code, out)
		}
	}
	if after, _ := os.ReadFile(path); string(after) != newer {
		t.Error("the newer record was cut")
	}
	os.WriteFile(path, good, 0o600)

	for _, answersPath := range []string{filepath.Join(t.TempDir(), "missing.inf"), t.TempDir()} {
		for _, args := range [][]string{
			{"upgrade", "--answers", answersPath, "--yes"},
			{"plan", "--answers", answersPath},
			{"status", "--answers", answersPath},
			{"answers", "validate", answersPath},
		} {
			if out, code := run(t, bin, args...); code != 2 {
				t.Errorf("%s with answers %s: exit %d, want 2\n%s", args[0], answersPath, code, out)
			}
		}
	}
	h.requireNothingLost(t, bin, k)
}

// resealLast gives the journal's last record format version v and seals it
// again (CRC-32C over the record up to its crc member), as a newer wizard would
// have written it.
func resealLast(t *testing.T, text string, v int) string {
	t.Helper()
	ls := strings.SplitAfter(text, "\n")
	if ls[len(ls)-1] == "" {
		ls = ls[:len(ls)-1]
	}
	last := strings.TrimSuffix(ls[len(ls)-1], "\n")
	if !strings.HasPrefix(last, `{"v":1,`) {
		t.Fatalf("unexpected record: %s", last)
	}
	last = fmt.Sprintf(`{"v":%d,`, v) + strings.TrimPrefix(last, `{"v":1,`)
	i := strings.LastIndex(last, `,"crc":"`)
	sum := crc32.Checksum([]byte(last[:i]), crc32.MakeTable(crc32.Castagnoli))
	ls[len(ls)-1] = fmt.Sprintf(`%s,"crc":"%08x"}`, last[:i], sum) + "\n"
	return strings.Join(ls, "")
}

// Case 7: a backout stages a copy of the server root on its volume. Preflight
// and the plan say how much room that takes; a volume that cannot hold it
// stops the run before anything is stopped (PRE-DISK-003), so the way back
// cannot fail for want of space exactly when it is needed.
func TestAServerRootVolumeTooFullForABackoutStopsTheRun(t *testing.T) {
	t.Parallel()
	requireTools(t)
	if os.Geteuid() != 0 {
		t.Fatal("mounting a tmpfs needs root")
	}
	bin := buildBinary(t)
	vol := filepath.Join(t.TempDir(), "vol")
	if err := os.Mkdir(vol, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", vol, "tmpfs", 0, "size=256m"); err != nil {
		t.Fatalf("mount tmpfs: %v", err)
	}
	// Registered first, so it runs after the host is down.
	t.Cleanup(func() { _ = syscall.Unmount(vol, syscall.MNT_DETACH) })
	backups := filepath.Join(t.TempDir(), "backups")
	h := upHost(t, bin, hostOptions{seed: 70, dir: vol, wizard: []string{"BackupDir = " + backups}})
	k := h.keep(t, "")

	out, code := run(t, bin, "plan", "--answers", h.inf)
	if code != 0 || !strings.Contains(out, "a backout needs about ") || !strings.Contains(out, " on "+vol+", ") {
		t.Fatalf("plan does not state the room a backout needs: exit %d\n%s", code, out)
	}
	// Fill the volume until less than the server root's size is free.
	var st syscall.Statfs_t
	if err := syscall.Statfs(vol, &st); err != nil {
		t.Fatal(err)
	}
	free := int64(st.Bavail) * st.Bsize
	filler, err := os.Create(filepath.Join(vol, "filler"))
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Fallocate(int(filler.Fd()), 0, 0, free-256<<10); err != nil {
		t.Fatalf("fallocate: %v", err)
	}
	filler.Close()

	out, code = run(t, bin, "plan", "--answers", h.inf)
	if !strings.Contains(out, "PRE-DISK-003") {
		t.Fatalf("plan on a full volume: exit %d, no PRE-DISK-003\n%s", code, out)
	}
	out, code = run(t, bin, "upgrade", "--answers", h.inf, "--yes")
	if code != 1 || !strings.Contains(out, "PRE-DISK-003") || !strings.Contains(out, "a backout stages a copy of the server root on "+vol) || strings.Contains(out, "$ ") {
		t.Fatalf("upgrade on a full volume: exit %d\n%s", code, out)
	}
	if !servicesAnswer(t, h.Host) {
		t.Fatal("the services were stopped")
	}
	os.Remove(filepath.Join(vol, "filler"))
	out, code = run(t, bin, "upgrade", "--answers", h.inf, "--yes", "--until", "preflight/ha-probe")
	if code != 0 || strings.Contains(out, "PRE-DISK-003") {
		t.Fatalf("with room again: exit %d\n%s", code, out)
	}
	h.requireNothingLost(t, bin, k)
}

// Case 8: a name that is not UTF-8 (Latin-1, as 5.x tools wrote them) and a
// sparse file in the server root: the upgrade's archive takes them (it failed
// after the services were stopped), and the backout brings them back byte for
// byte, the sparse file still sparse.
func TestLatin1NamesAndSparseFilesSurviveUpgradeAndBackout(t *testing.T) {
	t.Parallel()
	requireTools(t)
	bin := buildBinary(t)
	h := upHost(t, bin, hostOptions{seed: 71})
	k := h.keep(t, "")
	docs := filepath.Join(h.w.ServerRoot(), "docs")
	if err := os.MkdirAll(filepath.Join(docs, "r\xe9sum\xe9s"), 0o755); err != nil {
		t.Fatal(err)
	}
	latin1 := filepath.Join(docs, "r\xe9sum\xe9s", "caf\xe9.txt")
	if err := os.WriteFile(latin1, []byte("caf\xe9 cr\xe8me\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	const size = 32 << 20
	sparse := filepath.Join(docs, "index.db")
	f, err := os.Create(sparse)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte("head"), 0)
	f.WriteAt([]byte("tail"), size-4)
	f.Close()

	if out, code := run(t, bin, "upgrade", "--answers", h.inf, "--yes"); code != 0 {
		t.Fatalf("upgrade: exit %d\n%s", code, out)
	}
	k = k.withArchive(t, backupIndex(t, h.w.StateDir())["server-root"].Archive)
	if out, code := run(t, bin, "backout", "--answers", h.inf, "--yes"); code != 0 {
		t.Fatalf("backout: exit %d\n%s", code, out)
	}
	h.requireVersion(t, "5.1")
	h.requireNothingLost(t, bin, k)
	if b, err := os.ReadFile(latin1); err != nil || string(b) != "caf\xe9 cr\xe8me\n" {
		t.Fatalf("the Latin-1 file after the backout: %q %v", b, err)
	}
	var st syscall.Stat_t
	if err := syscall.Stat(sparse, &st); err != nil {
		t.Fatal(err)
	}
	if st.Size != size || st.Blocks*512 > 1<<20 {
		t.Fatalf("index.db after the backout: %d bytes, %d allocated; want %d, sparse", st.Size, st.Blocks*512, size)
	}
	b, _ := os.ReadFile(sparse)
	if string(b[:4]) != "head" || string(b[size-4:]) != "tail" {
		t.Fatal("index.db content changed")
	}
}

// Case 10 (signals): SIGTERM while the TUI shows the plan ends the wizard as
// interrupted, exit 130, not 0 as a quit; nothing ran.
func TestSIGTERMOnTheTUIPlanScreenExits130(t *testing.T) {
	t.Parallel()
	requireTmux(t)
	requireTools(t)
	bin := buildBinary(t)
	h := upHost(t, bin, hostOptions{seed: 72})
	k := h.keep(t, "")
	if err := os.MkdirAll(h.w.StateDir(), 0o700); err != nil {
		t.Fatal(err)
	}
	// A state directory that knows its answers: `upgrade --state-dir` opens the TUI.
	if err := os.WriteFile(filepath.Join(h.w.StateDir(), "answers.path"), []byte(h.inf), 0o600); err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("mswizard-sigterm-%d", os.Getpid())
	p := &tmuxPane{t: t, name: name}
	pidFile := filepath.Join(t.TempDir(), "pid")
	cmd := fmt.Sprintf("sh -c 'echo $$ > %s; TERM=xterm-256color exec %s upgrade --state-dir %s'; echo EXIT=$?; sleep 600", pidFile, bin, h.w.StateDir())
	p.tmux("new-session", "-d", "-s", name, "-x", "100", "-y", "30", cmd)
	t.Cleanup(func() { _ = exec.Command("tmux", "kill-session", "-t", name).Run() })
	p.waitFor(2*time.Minute, "preflight", "enter review the plan")
	p.send("Enter")
	p.waitFor(30*time.Second, "review the plan (enter to start")
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	p.waitFor(30*time.Second, "EXIT=130")
	recs, err := journal.Read(h.w.StateDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if r.Kind == journal.KindBegin {
			t.Fatalf("an action began: %s", journal.Describe(r))
		}
	}
	h.requireNothingLost(t, bin, k)
}

// requireNoSecretInProcs scans /proc/*/cmdline and /proc/*/environ of every
// live process for secret.
func requireNoSecretInProcs(t *testing.T, secret string) {
	t.Helper()
	ents, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	scanned := 0
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		for _, f := range []string{"cmdline", "environ"} {
			b, err := os.ReadFile(filepath.Join("/proc", e.Name(), f))
			if err != nil {
				continue
			}
			scanned++
			if strings.Contains(string(b), secret) {
				t.Errorf("pid %s: the secret is in its %s", e.Name(), f)
			}
		}
	}
	if scanned == 0 {
		t.Fatal("no process could be read")
	}
}

// FAULTS.md T6: --help, --version and `completion bash` work for an
// unprivileged user, without a configuration, a terminal or an environment.
func TestHelpVersionAndCompletionNeedNothing(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Fatal("the test drops to the nobody user and needs root for that")
	}
	bin := buildBinary(t)
	dir, err := os.MkdirTemp("", "mswizard-t6-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	pub := filepath.Join(dir, "mswizard")
	b, _ := os.ReadFile(bin)
	if err := os.WriteFile(pub, b, 0o755); err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755)
	for _, args := range [][]string{{"--help"}, {"--version"}, {"version"}, {"completion", "bash"}, {"upgrade", "--help"}} {
		cmd := exec.Command(pub, args...)
		cmd.Dir = "/"
		cmd.Env = []string{}
		cmd.Stdin = nil
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}, Setsid: true}
		out, err := cmd.CombinedOutput()
		if err != nil || len(out) == 0 {
			t.Errorf("%v as nobody: %v\n%s", args, err, out)
		}
	}
}
