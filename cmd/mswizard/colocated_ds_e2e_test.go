package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"mswizard/fixtures/host"
	"mswizard/fixtures/installer"
	"mswizard/fixtures/sim"
	"mswizard/wizard/journal"
)

// dirSnapshot reads every entry of the suffixes with its user attributes
// through ldapsearch (not the wizard's code), as a sorted list of records
// whose lines are sorted: two snapshots are equal when the directory holds
// the same entries with the same values.
func dirSnapshot(t *testing.T, h *simHost, suffixes ...string) []string {
	t.Helper()
	var recs []string
	for _, sfx := range suffixes {
		out, err := exec.Command("ldapsearch", "-LLL", "-x", "-o", "ldif-wrap=no", "-H", h.LDAP.URL, "-D", h.LDAP.RootDN, "-w", h.LDAP.RootPW,
			"-b", sfx, "(objectclass=*)", "*").CombinedOutput()
		if err != nil {
			t.Fatalf("ldapsearch -b %s: %v\n%s", sfx, err, out)
		}
		for _, r := range strings.Split(strings.TrimSpace(string(out)), "\n\n") {
			lines := strings.Split(strings.TrimSpace(r), "\n")
			slices.Sort(lines)
			recs = append(recs, strings.Join(lines, "\n"))
		}
	}
	slices.Sort(recs)
	return recs
}

func ldapChange(t *testing.T, h *simHost, tool, ldifText string) {
	t.Helper()
	cmd := exec.Command(tool, "-x", "-H", h.LDAP.URL, "-D", h.LDAP.RootDN, "-w", h.LDAP.RootPW)
	cmd.Stdin = strings.NewReader(ldifText)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", tool, err, out)
	}
}

// undoOrder is the backout's undo actions in the order they completed, as
// "step: summary", from the journal.
func undoOrder(t *testing.T, h *simHost) []string {
	t.Helper()
	recs, err := journal.Read(h.w.StateDir())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range recs {
		if r.Kind == journal.KindUndoDone {
			out = append(out, r.Step+": "+r.Summary)
		}
	}
	return out
}

// firstIndex is the position of the first entry naming what, or -1.
func firstIndex(list []string, what string) int {
	return slices.IndexFunc(list, func(s string) bool { return strings.Contains(s, what) })
}

// With the Directory Server inside the server root (SERVER-ROOT/slapd-ID, the
// usual iPlanet layout), the upgrade exports its data with the instance's own
// db2ldif, and the backout stops it in the appendix's strict order — after the
// Messaging Server, before the Administration Server, and before the server
// root is restored — loads its data from that export, starts it after the
// Administration Server and before the Messaging Server, and leaves it running
// with its entries as they were before the upgrade: what was changed in the
// directory after the export is gone, as the appendix's restore of the server
// root takes it back.
func TestColocatedDirectoryServerIsExportedStoppedRestoredAndStartedInTheAppendixOrder(t *testing.T) {
	t.Parallel()
	requireTools(t)
	bin := buildBinary(t)
	h := upHost(t, bin, hostOptions{colocatedDS: true})
	inst := host.ColocatedInstanceDir(h.w)
	if h.LDAP.Dir != inst {
		t.Fatalf("the directory runs from %s, not from the server root (%s)", h.LDAP.Dir, inst)
	}
	suffixes := []string{"o=siroe.com", "o=pab", "o=NetscapeRoot"}
	before := dirSnapshot(t, h, suffixes...)

	// The plan names both steps; the preflight reports the instance.
	out, code := run(t, bin, "plan", "--answers", h.inf)
	if code != 0 {
		t.Fatalf("plan: exit %d\n%s", code, out)
	}
	for _, want := range []string{"backup/directory-instance", "check/directory-instance", filepath.Join(inst, "db2ldif") + " -n userRoot -a", "PRE-DSI-001"} {
		if !strings.Contains(out, want) {
			t.Errorf("the plan does not show %q:\n%s", want, out)
		}
	}

	if out, code := run(t, bin, "upgrade", "--answers", h.inf, "--yes"); code != 0 {
		t.Fatalf("upgrade: exit %d\n%s", code, out)
	}
	// The export's receipt: one file per backend, counted by the server.
	rec := stepRecord(t, h.Host, "backup/directory-instance")
	var exp struct {
		Running bool `json:"running"`
		Files   []struct {
			Backend     string `json:"backend"`
			Path        string `json:"path"`
			SHA256      string `json:"sha256"`
			Entries     int    `json:"entries"`
			ServerCount int    `json:"server_count"`
		} `json:"files"`
	}
	if len(rec.Receipts) == 0 || json.Unmarshal(rec.Receipts[len(rec.Receipts)-1].Data, &exp) != nil {
		t.Fatalf("backup/directory-instance left no export receipt: %+v", rec.Receipts)
	}
	if !exp.Running || len(exp.Files) != len(suffixes) {
		t.Fatalf("export receipt: running=%v, %d files, want running and %d backends: %+v", exp.Running, len(exp.Files), len(suffixes), exp)
	}
	for _, f := range exp.Files {
		if f.Entries == 0 || f.Entries != f.ServerCount || f.SHA256 == "" || !strings.HasPrefix(f.Path, h.w.StateDir()) {
			t.Errorf("export of %s: %+v; want entries counted by the server, a sha256, in the state directory", f.Backend, f)
		}
	}

	// The directory changes after the upgrade: an entry added, one changed.
	ldapChange(t, h, "ldapadd", "dn: cn=added-after-upgrade,o=siroe.com\nobjectClass: organizationalRole\ncn: added-after-upgrade\n")
	ldapChange(t, h, "ldapmodify", "dn: o=siroe.com\nchangetype: modify\nreplace: description\ndescription: changed after the upgrade\n")
	if slices.Equal(dirSnapshot(t, h, suffixes...), before) {
		t.Fatal("the changes after the upgrade do not show in the directory")
	}

	out, code = run(t, bin, "backout", "--answers", h.inf, "--dry-run")
	if code != 0 {
		t.Fatalf("backout --dry-run: exit %d\n%s", code, out)
	}
	if !strings.Contains(out, filepath.Join(inst, "stop-slapd")) || !strings.Contains(out, filepath.Join(inst, "ldif2db")+" -n userRoot -i") {
		t.Errorf("backout --dry-run does not show the instance's stop and load:\n%s", out)
	}
	if out, code := run(t, bin, "backout", "--answers", h.inf, "--yes"); code != 0 {
		t.Fatalf("backout: exit %d\n%s", code, out)
	}

	// Running, with the entries of before the upgrade.
	after := dirSnapshot(t, h, suffixes...)
	if !slices.Equal(after, before) {
		for _, r := range after {
			if !slices.Contains(before, r) {
				t.Errorf("after the backout, not before the upgrade:\n%s", r)
			}
		}
		for _, r := range before {
			if !slices.Contains(after, r) {
				t.Errorf("before the upgrade, missing after the backout:\n%s", r)
			}
		}
		t.FailNow()
	}

	// The journal: stopped after the Messaging Server and before the
	// Administration Server, and before the server root's restore; started
	// after the Administration Server and before the Messaging Server.
	order := undoOrder(t, h)
	t.Logf("backout, undo actions in the order they completed:\n%s", strings.Join(order, "\n"))
	at := func(what string) int {
		i := firstIndex(order, what)
		if i < 0 {
			t.Fatalf("the backout journal has no undo naming %q:\n%s", what, strings.Join(order, "\n"))
		}
		return i
	}
	stopMsg, stopDS, stopAdmin := at("stop-msg"), at(filepath.Join(inst, "stop-slapd")), at("stop-admin")
	restore, load := at("upgrade/run-installer: restore"), at(filepath.Join(inst, "ldif2db"))
	startAdmin, startDS, startMsg := at("start-admin"), at(filepath.Join(inst, "start-slapd")), at("start-msg")
	if !(stopMsg < stopDS && stopDS < stopAdmin && stopAdmin < restore && restore < load && load < startDS &&
		startAdmin < startDS && startDS < startMsg) {
		t.Errorf("backout order: stop-msg %d, stop-slapd %d, stop-admin %d, restore %d, ldif2db %d, start-admin %d, start-slapd %d, start-msg %d; "+
			"want stop-msg < stop-slapd < stop-admin < restore < ldif2db < start-slapd, start-admin < start-slapd < start-msg:\n%s",
			stopMsg, stopDS, stopAdmin, restore, load, startAdmin, startDS, startMsg, strings.Join(order, "\n"))
	}
	if _, err := os.Stat(filepath.Join(inst, "slapd.pid")); err != nil {
		t.Errorf("the instance left no pid file after its start: %v", err)
	}
}

// A backout after a run that ended right after the export (its stop step
// never ran, the instance still runs): the load stops it first, then loads
// the export and starts it after the Administration Server and before the
// Messaging Server; the entries are those of before the run.
func TestColocatedDirectoryServerBackoutAfterTheExportAlone(t *testing.T) {
	t.Parallel()
	requireTools(t)
	bin := buildBinary(t)
	h := upHost(t, bin, hostOptions{colocatedDS: true})
	inst := host.ColocatedInstanceDir(h.w)
	suffixes := []string{"o=siroe.com", "o=pab", "o=NetscapeRoot"}
	before := dirSnapshot(t, h, suffixes...)
	if out, code := run(t, bin, "upgrade", "--answers", h.inf, "--yes", "--until", "backup/directory-instance"); code != 0 {
		t.Fatalf("upgrade --until backup/directory-instance: exit %d\n%s", code, out)
	}
	ldapChange(t, h, "ldapadd", "dn: cn=added-after-the-export,o=siroe.com\nobjectClass: organizationalRole\ncn: added-after-the-export\n")
	if out, code := run(t, bin, "backout", "--answers", h.inf, "--yes"); code != 0 {
		t.Fatalf("backout: exit %d\n%s", code, out)
	}
	if after := dirSnapshot(t, h, suffixes...); !slices.Equal(after, before) {
		t.Fatalf("after the backout the directory differs from before the run (%d entries, %d before)", len(after), len(before))
	}
	order := undoOrder(t, h)
	t.Logf("backout, undo actions in the order they completed:\n%s", strings.Join(order, "\n"))
	if i := firstIndex(order, "check/directory-instance"); i >= 0 {
		t.Errorf("check/directory-instance never ran, yet the backout undid it: %s", order[i])
	}
	load := firstIndex(order, filepath.Join(inst, "ldif2db"))
	startAdmin, startDS, startMsg := firstIndex(order, "start-admin"), firstIndex(order, filepath.Join(inst, "start-slapd")), firstIndex(order, "start-msg")
	if load < 0 || !(startAdmin >= 0 && startAdmin < startDS && load < startDS && startDS < startMsg) {
		t.Errorf("want start-admin < start-slapd < start-msg and the load before start-slapd: load %d, start-admin %d, start-slapd %d, start-msg %d",
			load, startAdmin, startDS, startMsg)
	}
	// The load's receipt says it stopped the running instance first.
	recs, err := journal.Read(h.w.StateDir())
	if err != nil {
		t.Fatal(err)
	}
	var note string
	for _, r := range recs {
		if r.Kind == journal.KindUndoDone && r.Step == "backup/directory-instance" && strings.Contains(r.Summary, "ldif2db") {
			var rc struct {
				Note string `json:"note"`
			}
			_ = json.Unmarshal(r.Receipt, &rc)
			note = rc.Note
		}
	}
	if !strings.Contains(note, "stopped first") {
		t.Errorf("the load's receipt does not say it stopped the running instance first: %q", note)
	}
}

// An installer that died half-way is undone by restoring the server root
// before the retry, while the Directory Server of the server root runs (the
// appendix keeps it up during the upgrade): its live files are carried
// through the restore, never swapped under it, so what it holds survives a
// restart of the server; the backout still returns it to the export.
func TestColocatedDirectoryServerKeepsItsLiveFilesThroughTheInstallerRetry(t *testing.T) {
	t.Parallel()
	requireTools(t)
	bin := buildBinary(t)
	h := upHost(t, bin, hostOptions{colocatedDS: true})
	inst := host.ColocatedInstanceDir(h.w)
	suffixes := []string{"o=siroe.com", "o=pab", "o=NetscapeRoot"}
	before := dirSnapshot(t, h, suffixes...)
	if err := sim.SetFault(h.w, installer.FaultDies, "after-move"); err != nil {
		t.Fatal(err)
	}
	if out, code := run(t, bin, "upgrade", "--answers", h.inf, "--yes"); code != 1 || !strings.Contains(out, "upgrade/run-installer") {
		t.Fatalf("upgrade with a dying installer: exit %d\n%s", code, out)
	}
	os.Remove(filepath.Join(h.w.FaultsDir(), installer.FaultDies))
	ldapChange(t, h, "ldapadd", "dn: cn=added-between-the-runs,o=siroe.com\nobjectClass: organizationalRole\ncn: added-between-the-runs\n")
	out, code := run(t, bin, "upgrade", "--answers", h.inf, "--yes")
	if code != 0 || !strings.Contains(out, "stopped half-way") {
		t.Fatalf("the retry: exit %d (want 0, restoring the server root first)\n%s", code, out)
	}
	// The server's files on disk are its live ones: a restart keeps the entry.
	for _, script := range []string{"stop-slapd", "start-slapd"} {
		if out, err := exec.Command(filepath.Join(inst, script)).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", script, err, out)
		}
	}
	found := false
	for _, r := range dirSnapshot(t, h, "o=siroe.com") {
		found = found || strings.Contains(r, "dn: cn=added-between-the-runs,o=siroe.com")
	}
	if !found {
		t.Fatal("after the retry's restore and a restart the directory lost the entry added while it ran: its files were swapped under it")
	}
	if out, code := run(t, bin, "backout", "--answers", h.inf, "--yes"); code != 0 {
		t.Fatalf("backout: exit %d\n%s", code, out)
	}
	if after := dirSnapshot(t, h, suffixes...); !slices.Equal(after, before) {
		t.Fatalf("after the backout the directory differs from before the run (%d entries, %d before)", len(after), len(before))
	}
}
