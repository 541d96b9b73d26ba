package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"os/exec"
	"strings"
	"testing"
)

// runStdout runs the binary and returns its standard output alone, its standard
// error and its exit code: --output json promises the former is JSON.
func runStdout(t *testing.T, bin string, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return out.String(), errb.String(), ee.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), 0
}

// TestJSONOutputIsVersionedJSONLines: with --output json every line a run
// command prints on standard output is a JSON object carrying the schema
// version, whatever the outcome — a run, a backout with nothing to undo.
func TestJSONOutputIsVersionedJSONLines(t *testing.T) {
	t.Parallel()
	requireTools(t)
	bin := buildBinary(t)
	h := upHost(t, bin, hostOptions{seed: 41})
	for _, args := range [][]string{
		{"backout", "--answers", h.inf, "--yes", "--output", "json"},
		{"upgrade", "--answers", h.inf, "--yes", "--output", "json", "--until", "baseline/mail"},
		{"status", "--answers", h.inf, "--output", "json"},
		{"upgrade", "--answers", h.inf, "--yes", "--output", "json"},
		{"diff", "--answers", h.inf, "--output", "json"},
		{"plan", "--answers", h.inf, "--output", "json"},
		{"backout", "--answers", h.inf, "--dry-run", "--output", "json"},
	} {
		out, errOut, code := runStdout(t, bin, args...)
		if code != 0 {
			t.Fatalf("%s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
		}
		sc := bufio.NewScanner(strings.NewReader(out))
		sc.Buffer(nil, 1<<24)
		n := 0
		for sc.Scan() {
			n++
			var v map[string]any
			if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
				t.Fatalf("%s: line %d is not JSON: %v\n%s", args[0], n, err, sc.Text())
			}
			if v["v"] != float64(1) && v["version"] != float64(1) {
				t.Fatalf("%s: line %d carries no schema version:\n%s", args[0], n, sc.Text())
			}
		}
		if n == 0 {
			t.Fatalf("%s printed nothing", args[0])
		}
	}
}
