package tui

import (
	"os/exec"
	"strings"
	"testing"
)

// The TUI is the engine's face, not one runbook's: it imports no product
// package (nothing under steps/, backup/, ldif/, fixtures/), so another runbook
// gets the same screens. It learns of a step's review through Options.Review.
func TestTheTUIImportsNoProductPackage(t *testing.T) {
	// go test puts its own GOROOT/bin first on the PATH of the test.
	gobin := "go"
	out, err := exec.Command(gobin, "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	for _, p := range strings.Fields(string(out)) {
		for _, product := range []string{"mswizard/steps", "mswizard/backup", "mswizard/ldif", "mswizard/fixtures", "mswizard/cmd"} {
			if p == product || strings.HasPrefix(p, product+"/") {
				t.Errorf("wizard/tui depends on %s", p)
			}
		}
	}
}
