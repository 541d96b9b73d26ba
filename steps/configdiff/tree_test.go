package configdiff

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// sampleTree lays out testdata/tree as an upgraded server would have it:
// the new msg-INSTANCE, the installer's backup.TIMESTAMP inside it, and the
// old version's pristine defaults from the installer payload.
func sampleTree(t *testing.T) (Tree, string) {
	t.Helper()
	tmp := t.TempDir()
	inst := filepath.Join(tmp, "server5", "msg-budgie")
	tr := Tree{
		Base: filepath.Join(tmp, "payload-5.1"),
		Old:  filepath.Join(inst, "backup.20020226120000"),
		New:  inst,
	}
	copyDir(t, "testdata/tree/new", tr.New)
	copyDir(t, "testdata/tree/old", tr.Old)
	copyDir(t, "testdata/tree/base", tr.Base)
	return tr, tmp
}

func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if e.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// snapshot maps every file under dir to its content.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	m := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		m[strings.TrimPrefix(p, dir)] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// valueIn returns a key's value in the live file, and whether it is there.
func valueIn(t *testing.T, dir, rel, key string) (string, bool) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, rel))
	if err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
	it, ok := parse(FormatOf(rel), b).keyed()[key]
	return it.value, ok
}

func scrub(s, tmp string) string { return strings.ReplaceAll(s, tmp, "$TMP") }

func TestMergeSampleTreeReappliesCustomizationsKeepsNewAndReportsTheConflict(t *testing.T) {
	ctx := context.Background()
	tr, tmp := sampleTree(t)
	pristine := snapshot(t, filepath.Join(tmp, "server5"))
	res, err := Merge(ctx, tr, PolicyReapply, nil)
	if err != nil {
		t.Fatal(err)
	}

	type want struct {
		rel, key, value string
		present         bool
	}
	checks := map[string][]want{
		"customization re-applied": {
			{"config/local.conf", "service.http.port", "8080", true},
			{"config/local.conf", "local.autorestart.timeout", "600", true},
			{"config/local.conf", "service.pop.port", "", false},
			{"imta/config/imta.cnf", "rule mail.siroe.co.jp", "$U%siroe.com@tcp_local-daemon", true},
			{"imta/config/imta.cnf", "channel tcp_local", "smtp mx single_sys subdirs 20 noreverse maxjobs 12 pool SMTP_POOL | tcp-daemon", true},
			{"imta/config/imta.cnf", "channel tcp_relay", "smtp mx single_sys pool SMTP_POOL | tcp_relay-daemon", true},
			{"imta/config/mappings", "INTERNAL_IP $(192.168.10.0/24)", "$Y", true},
			{"imta/config/mappings", "ORIG_SEND_ACCESS *|*|*|spammer@*", "$NGo$ away", true},
			{"imta/config/aliases", "postmaster", "hostmaster@siroe.com", true},
			{"imta/config/aliases", "webmaster", "kaori@siroe.com, taro@siroe.com", true},
			{"imta/config/dispatcher.cnf", "[SERVICE=SMTP] MAX_CONNS", "64", true},
			{"imta/config/dispatcher.cnf", "[SERVICE=SMTP_RELAY] PORT", "2525", true},
			{"imta/config/job_controller.cnf", "[POOL=SMTP_POOL] JOB_LIMIT", "25", true},
			{"imta/config/option.dat", "LOG_CONNECTION", "1", true},
			{"imta/config/option.dat", "LOG_MESSAGE_ID", "1", true},
			{"html/index.html", wholeFileKey, "<html><body>\n<h1>Siroe Webmail</h1>\n</body></html>\n", true},
			{"imta/config/branch.rules", wholeFileKey, "branch1.siroe.com  $U%branch1.siroe.com@tcp_relay-daemon\n", true},
		},
		"new parameter kept": {
			{"config/local.conf", "service.imap.idletimeout", "1800", true},
			{"config/msg.conf", "local.ugldapusessl", "no", true},
			{"imta/config/imta.cnf", "channel tcp_intranet", "smtp mx single_sys subdirs 20 dequeue_removeroute maxjobs 7 pool SMTP_POOL | tcp_intranet-daemon", true},
			{"imta/config/mappings", "INTERNAL_IP $(::1/128)", "$Y", true},
			{"imta/config/dispatcher.cnf", "[SERVICE=SMTP_SUBMIT] TLS_PORT", "465", true},
			{"imta/config/job_controller.cnf", "[POOL=LOCAL_POOL] JOB_LIMIT", "10", true},
			{"imta/config/option.dat", "LOG_FORMAT", "1", true},
			{"imta/config/conversions", wholeFileKey, "! conversions (5.2)\nin-chan=tcp_*; out-chan=ims-ms; in-type=application; in-subtype=x-msword; command=\"/bin/true\"\n", true},
		},
		"changed vendor default kept": {
			{"config/local.conf", "local.watcher.enable", "yes", true},
			{"imta/config/option.dat", "LOG_FILENAME", "1", true},
			{"imta/config/imta.cnf", "channel defaults", "logging notices 1 2 4 7 copywarnpost copysendpost", true},
		},
		"conflict keeps the new value until decided": {
			{"config/local.conf", "local.autorestart", "off", true},
		},
	}
	for rule, ws := range checks {
		for _, w := range ws {
			got, ok := valueIn(t, tr.New, w.rel, w.key)
			if ok != w.present || got != w.value {
				t.Errorf("%s: %s %s = %q (present %v), want %q (present %v)", rule, w.rel, w.key, got, ok, w.value, w.present)
			}
		}
	}
	if b, err := os.ReadFile(filepath.Join(tr.New, "html/logo.gif")); err != nil || !bytes.HasPrefix(b, []byte("GIF89a")) {
		t.Errorf("operator's binary html/logo.gif not re-applied: %v", err)
	}

	if len(res.Conflicts) != 1 {
		t.Fatalf("conflicts = %+v, want exactly local.autorestart", res.Conflicts)
	}
	c := res.Conflicts[0]
	if c.File != "config/local.conf" || c.Key != "local.autorestart" || *c.Old != "yes" || *c.New != "off" || *c.Base != "no" {
		t.Errorf("conflict = %+v %q %q %q, want local.autorestart base no, old yes, new off", c, *c.Base, *c.Old, *c.New)
	}
	if !res.Unresolved() {
		t.Error("Unresolved() = false with a conflict pending")
	}
	// Every file the merge changed keeps the new version beside it.
	for _, rel := range res.Written {
		orig, ok := pristine["/msg-budgie/"+rel]
		if !ok {
			continue // created by the merge
		}
		pm, err := os.ReadFile(filepath.Join(tr.New, rel+PreMergeSuffix))
		if err != nil || string(pm) != orig {
			t.Errorf("%s%s missing or not the new version's file: %v", rel, PreMergeSuffix, err)
		}
	}
	var out bytes.Buffer
	if err := res.WriteText(&out); err != nil {
		t.Fatal(err)
	}
	golden(t, "tree/merge-report", []byte(scrub(out.String(), tmp)))

	js, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	var back Result
	if err := json.Unmarshal(js, &back); err != nil || len(back.Conflicts) != 1 || *back.Conflicts[0].Old != "yes" {
		t.Errorf("report does not survive JSON: %v", err)
	}
}

func TestMergeWithDecisionResolvesTheConflictAndIsIdempotent(t *testing.T) {
	ctx := context.Background()
	tr, tmp := sampleTree(t)
	if _, err := Merge(ctx, tr, PolicyReapply, nil); err != nil {
		t.Fatal(err)
	}
	d, err := ParseDecision("config/local.conf local.autorestart reapply")
	if err != nil {
		t.Fatal(err)
	}
	res, err := Merge(ctx, tr, PolicyReapply, Decisions{d})
	if err != nil {
		t.Fatalf("resuming with a decision: %v", err)
	}
	if res.Unresolved() {
		t.Errorf("conflicts left after the decision: %+v", res.Conflicts)
	}
	if v, _ := valueIn(t, tr.New, "config/local.conf", "local.autorestart"); v != "yes" {
		t.Errorf("local.autorestart = %q, want the operator's yes", v)
	}
	first := snapshot(t, filepath.Join(tmp, "server5"))
	res2, err := Merge(ctx, tr, PolicyReapply, Decisions{d})
	if err != nil {
		t.Fatal(err)
	}
	if second := snapshot(t, filepath.Join(tmp, "server5")); !maps.Equal(first, second) {
		t.Error("a second identical merge changed the tree")
	}
	if !slices.Equal(res.Written, res2.Written) || len(res2.Reapplied) != len(res.Reapplied) {
		t.Errorf("second merge reported differently: %v vs %v", res.Written, res2.Written)
	}

	// Changing the answer back puts the new value back.
	d.Choice = ChoiceKeepNew
	if _, err := Merge(ctx, tr, PolicyReapply, Decisions{d}); err != nil {
		t.Fatal(err)
	}
	if v, _ := valueIn(t, tr.New, "config/local.conf", "local.autorestart"); v != "off" {
		t.Errorf("after keep-new, local.autorestart = %q, want off", v)
	}
}

func TestMergeDecisionsReplayOnThePeer(t *testing.T) {
	ctx := context.Background()
	a, tmpA := sampleTree(t)
	dec := Decisions{{File: "config/local.conf", Key: "local.autorestart", Choice: ChoiceKeepNew}}
	ra, err := Merge(ctx, a, PolicyReapply, dec)
	if err != nil {
		t.Fatal(err)
	}
	// The peer answers everything from the first node's decisions, with
	// policy ask: nothing may be left open and the trees must agree.
	var lines Decisions
	for _, d := range ra.Decisions {
		back, err := ParseDecision(d.String())
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, back)
	}
	b, tmpB := sampleTree(t)
	rb, err := Merge(ctx, b, PolicyAsk, lines)
	if err != nil {
		t.Fatal(err)
	}
	if rb.Unresolved() {
		t.Errorf("peer left unresolved: %+v", rb.Conflicts)
	}
	sa, sb := snapshot(t, filepath.Join(tmpA, "server5")), snapshot(t, filepath.Join(tmpB, "server5"))
	delete(sa, "/msg-budgie/"+markerName)
	delete(sb, "/msg-budgie/"+markerName)
	if !maps.Equal(sa, sb) {
		t.Error("peer tree differs from the first node's")
	}
}

func TestMergeRefusesForeignPreMergeFiles(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name  string
		setup func(t *testing.T, tr Tree)
	}{
		{"a pre-merge file without a marker", func(t *testing.T, tr Tree) {
			if err := os.WriteFile(filepath.Join(tr.New, "config/local.conf"+PreMergeSuffix), []byte("x=1\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}},
		{"a marker for another backup", func(t *testing.T, tr Tree) {
			other := tr
			other.Old = tr.Old + "-other"
			copyDir(t, tr.Old, other.Old)
			if _, err := Merge(ctx, other, PolicyReapply, nil); err != nil {
				t.Fatal(err)
			}
		}},
		{"a pre-merge file edited since the merge saved it", func(t *testing.T, tr Tree) {
			if _, err := Merge(ctx, tr, PolicyReapply, nil); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(tr.New, "config/local.conf"+PreMergeSuffix), []byte("x=1\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, _ := sampleTree(t)
			tt.setup(t, tr)
			if _, err := Merge(ctx, tr, PolicyReapply, nil); !errors.Is(err, ErrForeignPreMerge) {
				t.Errorf("Merge = %v, want ErrForeignPreMerge", err)
			}
		})
	}
}

func TestDiffIsReadOnlyAndGolden(t *testing.T) {
	tr, tmp := sampleTree(t)
	before := snapshot(t, tmp)
	r, err := Diff(context.Background(), tr)
	if err != nil {
		t.Fatal(err)
	}
	if after := snapshot(t, tmp); !maps.Equal(before, after) {
		t.Error("Diff wrote to the tree")
	}
	var out bytes.Buffer
	if err := r.WriteText(&out, true); err != nil {
		t.Fatal(err)
	}
	golden(t, "tree/diff-report", []byte(scrub(out.String(), tmp)))
}

func TestPlanWritesNothingAndMatchesMerge(t *testing.T) {
	ctx := context.Background()
	tr, tmp := sampleTree(t)
	before := snapshot(t, tmp)
	p, err := Plan(ctx, tr, PolicyReapply, nil)
	if err != nil {
		t.Fatal(err)
	}
	if after := snapshot(t, tmp); !maps.Equal(before, after) {
		t.Error("Plan wrote to the tree")
	}
	m, err := Merge(ctx, tr, PolicyReapply, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Reapplied) != len(m.Reapplied) || len(p.Kept) != len(m.Kept) || len(p.Conflicts) != len(m.Conflicts) {
		t.Errorf("plan %d/%d/%d, merge %d/%d/%d (reapplied/kept/conflicts)",
			len(p.Reapplied), len(p.Kept), len(p.Conflicts), len(m.Reapplied), len(m.Kept), len(m.Conflicts))
	}
}

func TestMergeWithoutBaseTreatsEveryDifferenceByPolicy(t *testing.T) {
	tests := []struct {
		policy        Policy
		wantHTTP      string
		wantConflicts bool
	}{
		{PolicyReapply, "8080", false},
		{PolicyKeepNew, "80", false},
		{PolicyAsk, "80", true},
	}
	for _, tt := range tests {
		t.Run(string(tt.policy), func(t *testing.T) {
			tr, _ := sampleTree(t)
			tr.Base = ""
			res, err := Merge(context.Background(), tr, tt.policy, nil)
			if err != nil {
				t.Fatal(err)
			}
			if v, _ := valueIn(t, tr.New, "config/local.conf", "service.http.port"); v != tt.wantHTTP {
				t.Errorf("service.http.port = %q, want %q", v, tt.wantHTTP)
			}
			if v, _ := valueIn(t, tr.New, "config/local.conf", "service.imap.idletimeout"); v != "1800" {
				t.Errorf("new-only key not kept: %q", v)
			}
			if res.Unresolved() != tt.wantConflicts {
				t.Errorf("Unresolved() = %v, want %v", res.Unresolved(), tt.wantConflicts)
			}
		})
	}
}

func TestParseDecision(t *testing.T) {
	tests := []struct {
		name, in string
		want     Decision
		wantErr  bool
	}{
		{"file key choice", "config/local.conf service.imap.port reapply",
			Decision{"config/local.conf", "service.imap.port", ChoiceReapply}, false},
		{"a key with spaces is everything between file and choice", "imta/config/dispatcher.cnf [SERVICE=SMTP] PORT keep-new",
			Decision{"imta/config/dispatcher.cnf", "[SERVICE=SMTP] PORT", ChoiceKeepNew}, false},
		{"surrounding space is ignored", "  imta/config/imta.cnf channel tcp_local reapply \n",
			Decision{"imta/config/imta.cnf", "channel tcp_local", ChoiceReapply}, false},
		{"an unknown choice is refused", "config/local.conf a.b yes", Decision{}, true},
		{"a missing key is refused", "config/local.conf reapply", Decision{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseDecision(tt.in)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("ParseDecision(%q) = %+v, %v; want %+v, err %v", tt.in, got, err, tt.want, tt.wantErr)
			}
			if err == nil {
				if back, _ := ParseDecision(got.String()); back != got {
					t.Errorf("String() does not parse back: %q", got.String())
				}
			}
		})
	}
}

func TestMergeWholeFiles(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name       string
		setup      func(t *testing.T, tr Tree)
		rel        string
		wantExists bool
		wantReason Reason
	}{
		{"a file the operator deleted is deleted again", func(t *testing.T, tr Tree) {
			for _, d := range []string{tr.Base, tr.New} {
				if err := os.WriteFile(filepath.Join(d, "imta/config/internet.rules"), []byte("x\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}, "imta/config/internet.rules", false, ReasonOperatorRemoved},
		{"a file the vendor dropped stays dropped", func(t *testing.T, tr Tree) {
			for _, d := range []string{tr.Base, tr.Old} {
				if err := os.WriteFile(filepath.Join(d, "imta/config/old.rules"), []byte("x\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}, "imta/config/old.rules", false, ReasonVendorRemoved},
		{"a file the operator added is copied", func(t *testing.T, tr Tree) {}, "imta/config/branch.rules", true, ReasonOperatorAdded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, tmp := sampleTree(t)
			tt.setup(t, tr)
			res, err := Merge(ctx, tr, PolicyReapply, Decisions{{File: "config/local.conf", Key: "local.autorestart", Choice: ChoiceReapply}})
			if err != nil {
				t.Fatal(err)
			}
			_, err = os.Stat(filepath.Join(tr.New, tt.rel))
			if exists := err == nil; exists != tt.wantExists {
				t.Errorf("%s exists = %v, want %v", tt.rel, exists, tt.wantExists)
			}
			var got Reason
			for _, r := range append(append(res.Reapplied, res.Kept...), res.Conflicts...) {
				if r.File == tt.rel {
					got = r.Reason
				}
			}
			if got != tt.wantReason {
				t.Errorf("reason = %q, want %q", got, tt.wantReason)
			}
			first := snapshot(t, tmp)
			if _, err := Merge(ctx, tr, PolicyReapply, Decisions{{File: "config/local.conf", Key: "local.autorestart", Choice: ChoiceReapply}}); err != nil {
				t.Fatal(err)
			}
			if !maps.Equal(first, snapshot(t, tmp)) {
				t.Error("second merge changed the tree")
			}
		})
	}
}

func TestMergeStopsWhenCancelled(t *testing.T) {
	tr, tmp := sampleTree(t)
	before := snapshot(t, tmp)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Merge(ctx, tr, PolicyReapply, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("Merge = %v, want context.Canceled", err)
	}
	if !maps.Equal(before, snapshot(t, tmp)) {
		t.Error("a cancelled merge wrote")
	}
}
