package host

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The production packages never import the simulator: `go list -deps` of
// every package under wizard/, steps/, backup/ and ldif/ names no fixtures/
// package (issue 13: the host model comes from the documentation, not from
// the simulator).
func TestProductionPackagesDoNotImportFixtures(t *testing.T) {
	// go test puts its own GOROOT/bin first on the PATH of the test.
	goTool := "go"
	cmd := exec.Command(goTool, "list", "-deps", "./wizard/...", "./steps/...", "./backup/...", "./ldif/...")
	cmd.Dir = filepath.Join("..", "..")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	n := 0
	for _, p := range strings.Fields(string(out)) {
		if strings.HasPrefix(p, "mswizard/") {
			n++
		}
		if strings.HasPrefix(p, "mswizard/fixtures") {
			t.Errorf("a production package depends on %s", p)
		}
	}
	if n < 10 {
		t.Fatalf("go list named only %d project packages:\n%s", n, out)
	}
}
