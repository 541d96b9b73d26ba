package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRefusedRunDoesNotRepointTheStateDirectory: `--state-dir DIR` finds a run's
// answers through DIR/answers.path. A run refused on that state directory — its
// answers differ from the ones the journal is pinned to — must leave the pointer
// at the run's own answers, or every later `--state-dir` command (status,
// resolve, backout) would load the refused file.
func TestRefusedRunDoesNotRepointTheStateDirectory(t *testing.T) {
	t.Parallel()
	requireTools(t)
	bin := buildBinary(t)
	h := upHost(t, bin, hostOptions{seed: 43})
	out, code := run(t, bin, "upgrade", "--answers", h.inf, "--yes", "--until", "stop/dispatcher")
	if code != 0 {
		t.Fatalf("first window: exit %d\n%s", code, out)
	}
	b, err := os.ReadFile(h.inf)
	if err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(filepath.Dir(h.inf), "other.inf")
	if err := os.WriteFile(other, []byte(strings.Replace(string(b), "StopTimeout = 30s", "StopTimeout = 40s", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	out, code = run(t, bin, "upgrade", "--answers", other, "--yes", "--state-dir", h.w.StateDir())
	if code != 2 || !strings.Contains(out, "different inputs") {
		t.Fatalf("run with other answers: exit %d, want 2 (pin)\n%s", code, out)
	}
	got, err := os.ReadFile(filepath.Join(h.w.StateDir(), "answers.path"))
	if err != nil {
		t.Fatal(err)
	}
	if want, _ := filepath.Abs(h.inf); string(got) != want {
		t.Fatalf("answers.path = %s, want the run's own %s", got, want)
	}
	out, code = run(t, bin, "backout", "--state-dir", h.w.StateDir(), "--yes")
	if code != 0 {
		t.Fatalf("backout --state-dir: exit %d\n%s", code, out)
	}
}
