package configdiff

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// gnuUnified runs the system's GNU diff -u and strips the timestamped
// header lines, leaving the hunks.
func gnuUnified(t *testing.T, a, b []byte) []byte {
	t.Helper()
	dir := t.TempDir()
	pa, pb := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	if err := os.WriteFile(pa, a, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pb, b, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("diff", "-u", pa, pb).Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
			t.Fatalf("diff -u: %v (diffutils must be installed)", err)
		}
	}
	return hunksOnly(out)
}

func hunksOnly(u []byte) []byte {
	if i := bytes.Index(u, []byte("\n@@")); i >= 0 {
		return u[i+1:]
	}
	return nil
}

// randomText builds texts from a tiny alphabet of lines so that repeats,
// ambiguous alignments and missing final newlines are common.
func randomText(r *rand.Rand, n int) []byte {
	alphabet := []string{"a", "b", "c", "", "! c", "x = 1", "x = 2", "}"}
	var sb strings.Builder
	for i := range n {
		sb.WriteString(alphabet[r.IntN(len(alphabet))])
		if i < n-1 || r.IntN(4) != 0 {
			sb.WriteByte('\n')
		}
	}
	return []byte(sb.String())
}

func mutate(r *rand.Rand, a []byte) []byte {
	lines := strings.SplitAfter(string(a), "\n")
	var out []string
	for _, l := range lines {
		switch r.IntN(10) {
		case 0: // drop
		case 1:
			out = append(out, l, fmt.Sprintf("new %d\n", r.IntN(3)))
		case 2:
			out = append(out, "b\n")
		default:
			out = append(out, l)
		}
	}
	return []byte(strings.Join(out, ""))
}

func TestUnifiedMatchesGNUDiffOnRandomTexts(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	mismatches := 0
	for n := range 1000 {
		a := randomText(r, r.IntN(40))
		var b []byte
		if n%2 == 0 {
			b = mutate(r, a)
		} else {
			b = randomText(r, r.IntN(40))
		}
		want := gnuUnified(t, a, b)
		got := hunksOnly(Unified(a, b, "a", "b"))
		if !bytes.Equal(got, want) {
			mismatches++
			if mismatches < 3 {
				t.Errorf("case %d: hunks differ from diff -u\nA:\n%q\nB:\n%q\nours:\n%s\ngnu:\n%s", n, a, b, got, want)
			}
		}
	}
	if mismatches > 0 {
		t.Errorf("%d of 1000 differ", mismatches)
	}
}
