package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// chromium finds Debian's headless-capable browser, failing the test when it
// is missing (make test installs it) and skipping only under -short.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if testing.Short() {
		t.Skip("chromium missing")
	}
	t.Fatal("chromium is missing: install the Debian package chromium (make test does)")
	return ""
}

// requireReportRenders opens a state directory's report.html in headless
// Chromium: the page must render to a screenshot and its DOM must hold the
// timeline and the mail-refused window with its length.
func requireReportRenders(t *testing.T, state string) {
	t.Helper()
	bin := chromium(t)
	page := filepath.Join(state, "report.html")
	if _, err := os.Stat(page); err != nil {
		t.Fatalf("no report.html: %v", err)
	}
	tmp := t.TempDir()
	shot := filepath.Join(tmp, "report.png")
	browse := func(args ...string) []byte {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		// No sandbox (root in a container), no GPU, and nothing that reaches
		// out to the network: the page must render from the file alone.
		base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
			"--disable-background-networking", "--disable-component-update", "--disable-sync",
			"--disable-dev-shm-usage", "--user-data-dir=" + filepath.Join(tmp, "profile")}
		cmd := exec.CommandContext(ctx, bin, append(append(base, args...), "file://"+page)...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("chromium %v: %v\n%s", args, err, stderr.String())
		}
		return stdout.Bytes()
	}
	browse("--screenshot="+shot, "--window-size=1280,2400", "--hide-scrollbars")
	png, err := os.ReadFile(shot)
	if err != nil || len(png) < 10000 || !bytes.HasPrefix(png, []byte("\x89PNG")) {
		t.Fatalf("no screenshot of the report (%d bytes): %v", len(png), err)
	}
	if dir := os.Getenv("MSWIZARD_KEEP_SCREENSHOT"); dir != "" {
		_ = os.WriteFile(filepath.Join(dir, "report.png"), png, 0o644)
	}
	dom := string(browse("--dump-dom"))
	for _, want := range []string{`id="timeline"`, `id="downtime"`, "Mail was refused for", `class="bar window"`, "post/start", "stop/dispatcher"} {
		if !strings.Contains(dom, want) {
			t.Errorf("the rendered report lacks %q", want)
		}
	}
}
