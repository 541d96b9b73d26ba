package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"mswizard/fixtures/host"
	"mswizard/fixtures/sim"
	"mswizard/fixtures/world"
	"mswizard/steps/mailcheck"
	"mswizard/wizard"
	"mswizard/wizard/journal"
)

// checksHost brings up a simulated host whose answers decide the world's
// planted merge conflict and keep the queue check short (a few seconds), and
// returns it with its install.inf.
func checksHost(t *testing.T, bin string, seed int64) (*host.Host, string) {
	t.Helper()
	h := upHost(t, bin, hostOptions{seed: seed, wizard: []string{"QueueCheckWindow = 4s", "QueueCheckInterval = 1s"}})
	return h.Host, h.inf
}

func stepRecord(t *testing.T, h *host.Host, id string) *wizard.StepRecord {
	t.Helper()
	recs, err := journal.Read(h.World.StateDir())
	if err != nil {
		t.Fatal(err)
	}
	return wizard.Fold(recs).Step(id)
}

// A clean upgrade passes both mail-flow checks and lists them in the report;
// the schema is prepared once before the installer, and the same preparation
// after the upgrade finds nothing to add (seed 003, post-upgrade step 3: skip
// it when ims_dssetup.pl already ran).
func TestCleanUpgradePassesTheMailChecksAndPreparesTheSchemaOnce(t *testing.T) {
	requireTools(t)
	t.Parallel()
	bin := buildBinary(t)
	h, inf := checksHost(t, bin, 7)

	out, code := run(t, bin, "upgrade", "--answers", inf, "--yes")
	if code != 0 {
		t.Fatalf("upgrade exit %d:\n%s", code, out)
	}
	if !strings.Contains(out, "PRE-DS-000") || !strings.Contains(out, "OpenLDAP") {
		t.Errorf("the directory preflight does not name the OpenLDAP it found:\n%s", out)
	}
	for _, id := range []string{"baseline/mail", "directory/schema", "post/save-config", "post/log-check", "post/queue-check"} {
		if s := stepRecord(t, h, id).State; s != wizard.StateDone {
			t.Errorf("%s is %s in the journal, want done", id, s)
		}
	}
	ds := stepRecord(t, h, "directory/schema")
	if len(ds.Receipts) != 1 || !strings.Contains(ds.Receipts[0].Note, "added") || !strings.Contains(ds.Receipts[0].Summary, "attribute type") {
		t.Errorf("directory/schema did not add definitions: %+v", ds.Receipts)
	}
	ps := stepRecord(t, h, "post/schema")
	if ps.State != wizard.StateSkipped || !strings.Contains(ps.Why, "nothing to add") {
		t.Errorf("post/schema is %s (%q), want skipped: nothing to add", ps.State, ps.Why)
	}
	state := h.World.StateDir()
	for _, name := range []string{"baseline.json", "log-check.txt", "log-check.json", "queue-check.txt", "queue-check.json", "saved-config/manifest.json", "saved-config/setup/install.inf", "saved-config/admin-serv/config/adm.conf"} {
		if _, err := os.Stat(filepath.Join(state, name)); err != nil {
			t.Errorf("state directory lacks %s", name)
		}
	}
	// The copies are those of right after the merge (seed 003, post-upgrade
	// step 1), each as its manifest says.
	var manifest struct {
		Files []struct{ Path, SHA256 string }
	}
	mb, _ := os.ReadFile(filepath.Join(state, "saved-config", "manifest.json"))
	if err := json.Unmarshal(mb, &manifest); err != nil {
		t.Fatalf("saved-config/manifest.json: %v", err)
	}
	localConf := filepath.Join("msg-"+h.World.Instance, "config", "local.conf")
	found := false
	for _, f := range manifest.Files {
		b, err := os.ReadFile(filepath.Join(state, "saved-config", f.Path))
		sum := sha256.Sum256(b)
		if err != nil || hex.EncodeToString(sum[:]) != f.SHA256 {
			t.Errorf("saved-config/%s does not match its manifest sha256 (%v)", f.Path, err)
		}
		found = found || f.Path == localConf
	}
	if !found {
		t.Errorf("the manifest does not list %s: %s", localConf, mb)
	}
	rep, _ := os.ReadFile(filepath.Join(state, "report.md"))
	for _, want := range []string{"| `post/mail-probe` | done |", "| `post/log-check` | done |", "| `post/queue-check` | done |"} {
		if !strings.Contains(string(rep), want) {
			t.Errorf("report.md lacks %q", want)
		}
	}
	// The probe's records, before the stops and after the restart, are in the
	// report: each an E and a D record naming its own probe message.
	for _, section := range []string{"### baseline/mail", "### post/mail-probe"} {
		i := strings.Index(string(rep), section)
		if i < 0 {
			t.Fatalf("report.md has no %s section", section)
		}
		part := string(rep)[i:]
		if j := strings.Index(part[len(section):], "\n### "); j >= 0 {
			part = part[:len(section)+j]
		}
		if !strings.Contains(part, "Mail probe: PASS") || !regexp.MustCompile(`mail\.log_current:\d+: .* EE \d+ mswizard-probe\+`).MatchString(part) ||
			!regexp.MustCompile(`mail\.log_current:\d+: .* D \d+ mswizard-probe\+`).MatchString(part) {
			t.Errorf("%s of report.md does not show the probe's E and D records:\n%s", section, part)
		}
	}
}

// Delivery broken after the upgrade (the job controller no longer delivers to
// the store on 5.2) fails the run at post/mail-probe, naming the probe message
// and its log lines; before the upgrade the same probe was delivered.
func TestBrokenDeliveryAfterTheUpgradeFailsTheMailProbe(t *testing.T) {
	requireTools(t)
	t.Parallel()
	bin := buildBinary(t)
	h := upHost(t, bin, hostOptions{seed: 19, wizard: []string{"QueueCheckWindow = 4s", "QueueCheckInterval = 1s", "ProbeTimeout = 5s"}})
	if err := sim.SetFault(h.World, sim.FaultStuckQueue, "ims-ms 5.2"); err != nil {
		t.Fatal(err)
	}
	out, code := run(t, bin, "upgrade", "--answers", h.inf, "--yes")
	if code != 1 {
		t.Fatalf("upgrade exit %d, want 1:\n%s", code, out)
	}
	for _, want := range []string{"step post/mail-probe failed", "mail probe failed: probe <mswizard-probe.", "no D (delivered) record",
		"Dead (unresponsive) host", "mail.log_current:"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if !regexp.MustCompile(`mail\.log_current:\d+: .* EE \d+ mswizard-probe\+`).MatchString(out) {
		t.Errorf("the failure does not show the probe's enqueue record:\n%s", out)
	}
	before, _ := os.ReadFile(filepath.Join(h.World.StateDir(), "probe-before.txt"))
	if !strings.Contains(string(before), "Mail probe: PASS") {
		t.Errorf("the probe before the upgrade did not pass:\n%s", before)
	}
	if s := stepRecord(t, h.Host, "post/mail-probe").State; s != wizard.StateFailed {
		t.Errorf("post/mail-probe is %s in the journal, want failed", s)
	}
}

// Error records logged after the restart on 5.2 fail post/log-check: exit 1,
// and the output shows the records themselves, by file and line.
func TestErrorRecordsAfterTheRestartFailTheLogCheck(t *testing.T) {
	requireTools(t)
	t.Parallel()
	bin := buildBinary(t)
	h, inf := checksHost(t, bin, 11)
	if err := sim.SetFault(h.World, sim.FaultErrorRecords, "5.2"); err != nil {
		t.Fatal(err)
	}
	out, code := run(t, bin, "upgrade", "--answers", inf, "--yes")
	if code != 1 {
		t.Fatalf("upgrade exit %d, want 1:\n%s", code, out)
	}
	for _, want := range []string{"step post/log-check failed", "mail.log_current:", "Unable to relay", "unknown user"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if s := stepRecord(t, h, "post/log-check").State; s == wizard.StateDone {
		t.Error("post/log-check is done in the journal after failing")
	}
}

// A channel whose mail is never delivered after the restart, and a message
// held since, fail post/queue-check: exit 1, naming the channel and the file.
func TestStuckChannelAndHeldMessageFailTheQueueCheck(t *testing.T) {
	requireTools(t)
	t.Parallel()
	bin := buildBinary(t)
	h, inf := checksHost(t, bin, 13)
	out, code := run(t, bin, "upgrade", "--answers", inf, "--yes", "--until", "post/log-check")
	if code != 0 {
		t.Fatalf("upgrade --until post/log-check exit %d:\n%s", code, out)
	}
	// Mail arriving for tcp_local after the restart is never delivered: more
	// than the baseline plus the slack, so the channel cannot count as at baseline.
	var base mailcheck.Baseline
	b, err := os.ReadFile(filepath.Join(h.World.StateDir(), "baseline.json"))
	if err != nil || json.Unmarshal(b, &base) != nil {
		t.Fatalf("baseline.json: %v", err)
	}
	if err := sim.SetFault(h.World, sim.FaultStuckQueue, "tcp_local"); err != nil {
		t.Fatal(err)
	}
	n := base.Queue.Channels["tcp_local"].Messages + base.Limits.Slack + 3
	if _, err := world.InjectMessages(h.World, "tcp_local", n, 5); err != nil {
		t.Fatal(err)
	}
	held, err := world.InjectMessages(h.World, "ims-ms", 1, 6)
	if err != nil {
		t.Fatal(err)
	}
	heldPath := strings.TrimSuffix(held[0], filepath.Ext(held[0])) + ".HELD"
	if err := os.Rename(held[0], heldPath); err != nil {
		t.Fatal(err)
	}

	out, code = run(t, bin, "upgrade", "--answers", inf, "--yes")
	if code != 1 {
		t.Fatalf("upgrade exit %d, want 1:\n%s", code, out)
	}
	for _, want := range []string{"step post/queue-check failed", "channel tcp_local: stuck", "held: ims-ms/" + filepath.Base(heldPath)} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	txt, _ := os.ReadFile(filepath.Join(h.World.StateDir(), "queue-check.txt"))
	if !strings.Contains(string(txt), filepath.Base(heldPath)) {
		t.Errorf("queue-check.txt does not name the held file:\n%s", txt)
	}
}

// A service that fails to start on 5.2 stops the run before the mail checks:
// exit 1, naming the service.
func TestServiceFailingToStartOn52FailsTheRun(t *testing.T) {
	requireTools(t)
	t.Parallel()
	bin := buildBinary(t)
	h, inf := checksHost(t, bin, 17)
	if err := sim.SetFault(h.World, sim.FaultStartFails, "imap 5.2"); err != nil {
		t.Fatal(err)
	}
	out, code := run(t, bin, "upgrade", "--answers", inf, "--yes")
	if code != 1 {
		t.Fatalf("upgrade exit %d, want 1:\n%s", code, out)
	}
	if !strings.Contains(out, "step post/start failed") || !strings.Contains(out, "imap") {
		t.Errorf("output does not name the failed start of imap:\n%s", out)
	}
	if s := stepRecord(t, h, "post/log-check").State; s == wizard.StateDone {
		t.Error("post/log-check ran although the services did not start")
	}
}
