package runbook

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const valuesRunbook = `id: v
title: values
answers:
  root: {type: path, default: /, help: the root}
  dir: {type: path, default: "{{root}}/var/x", help: a dir}
  size: {type: int, default: 99999, min: 4096, max: 16777215, help: multilog s}
  port: {type: port, default: 25, help: a port}
  on: {type: bool, default: "yes", help: a switch}
  wait: {type: duration, default: 5s, help: a wait}
  who: {type: user, default: qmaill, help: a user}
  mode: {type: choice, choices: [a, b], default: a, help: a choice}
  pw: {type: secret, help: a password}
preflight:
  - {id: PRE-V-001, message: m, fix: f, check: {path: /}}
steps:
  - {id: s, title: s, run: {argv: [echo, "{{dir}}"], stdin: "{{pw}}"}}
`

func TestLoadValues(t *testing.T) {
	rb := mustParse(t, valuesRunbook)
	dir := t.TempDir()
	pwFile := filepath.Join(dir, "pw")
	if err := os.WriteFile(pwFile, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		ini  string
		mode os.FileMode
		want []string // substrings of the problems; none means valid
	}{
		{"defaults fill what is not given; a path default is cleaned", "[v]\npw_file = " + pwFile + "\n", 0o644, nil},
		{"every bad value at once, each at its line", "[v]\nsize = 100\nport = 70000\non = maybe\nwait = soon\nwho = Bad User\nmode = c\ndir = relative\npw_file = " + pwFile + "\n", 0o600,
			[]string{"v.inf:2: size = 100: below the minimum 4096", "v.inf:3: port = 70000: a port is 1..65535", "v.inf:4: on = maybe", "v.inf:5: wait = soon", "v.inf:6: who = Bad User", "v.inf:7: mode = c: must be one of a, b", "v.inf:8: dir = relative: not an absolute path"}},
		{"an unknown answer suggests the near one", "[v]\nsiez = 5000\npw_file = " + pwFile + "\n", 0o600, []string{`v.inf:2: unknown answer "siez" in [v]; did you mean "size"?`}},
		{"an unknown [Runbook] key suggests the near one", "[Runbook]\nStateDri = /x\n[v]\npw_file = " + pwFile + "\n", 0o600, []string{`did you mean "StateDir"?`}},
		{"a secret inline in a readable file is refused", "[v]\npw = inline\n", 0o644, []string{"v.inf:2: secret pw is in a file group or others can read (mode 0644): run chmod 600"}},
		{"a missing secret is named", "[v]\n", 0o600, []string{"has no secret pw"}},
		{"an answer in no section of this runbook", "[other]\na = 1\n[v]\npw_file = " + pwFile + "\n", 0o600, []string{"v.inf:1: section [other]"}},
		{"a waiver needs a reason", "[Runbook]\nWaive = PRE-A-1\n[v]\npw_file = " + pwFile + "\n", 0o600, []string{"give the finding ID and the reason"}},
		{"a waiver of a finding of the runbook is accepted", "[Runbook]\nWaive = PRE-V-001 checked by hand\n[v]\npw_file = " + pwFile + "\n", 0o600, nil},
		{"a waiver names a finding of the runbook", "[Runbook]\nConfirm = no\nWaive = PRE-V-002 a typo\n[v]\npw_file = " + pwFile + "\n", 0o600,
			[]string{`v.inf:3: Waive PRE-V-002: runbook v has no preflight finding of that id; did you mean "PRE-V-001"?`}},
		{"Confirmed names a confirm step", "[Runbook]\nConfirmed = s\n[v]\npw_file = " + pwFile + "\n", 0o600, []string{"no confirm step of that id"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "v.inf")
			if err := os.WriteFile(p, []byte(tt.ini), tt.mode); err != nil {
				t.Fatal(err)
			}
			v, err := LoadValues(rb, p)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				if v.Get("dir") != "/var/x" || v.Get("size") != "99999" || v.secrets["pw"].Reveal() != "s3cret" {
					t.Fatalf("values %v", v.vals)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			msg := strings.ReplaceAll(err.Error(), p, "v.inf")
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("missing %q in:\n%s", w, msg)
				}
			}
		})
	}
}

func TestHashLeavesSecretsOutAndSeesTheRunbook(t *testing.T) {
	rb := mustParse(t, valuesRunbook)
	a, b := Defaults(rb), Defaults(rb)
	a.secrets["pw"], b.secrets["pw"] = secretOf("one"), secretOf("two")
	if a.Hash(rb) != b.Hash(rb) {
		t.Error("a secret changed the hash")
	}
	b.vals["size"] = "5000"
	if a.Hash(rb) == b.Hash(rb) {
		t.Error("an answer did not change the hash")
	}
	rb2 := mustParse(t, valuesRunbook+"\n# changed\n")
	if a.Hash(rb) == a.Hash(rb2) {
		t.Error("a changed runbook did not change the hash")
	}
}

func TestTemplateIsAValidAnswersFile(t *testing.T) {
	for _, id := range Shipped() {
		rb, err := Load(id)
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if err := WriteTemplate(&b, rb, id); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(t.TempDir(), "a.inf")
		if err := os.WriteFile(p, b.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
		v, err := LoadValues(rb, p)
		if err != nil {
			t.Fatalf("the template does not load:\n%v\n%s", err, b.String())
		}
		if v.Runbook != id || v.StateDir == "" {
			t.Fatalf("template [Runbook]: %+v", v)
		}
		for _, want := range []string{"log_size = 99999", "(int, 4096..16777215)", "# default: {{root}}/var/qmail", "#   Seed 001. Writes run and log/run for qmail-send,"} {
			if id == "qmail-daemontools" && !strings.Contains(b.String(), want) {
				t.Errorf("template lacks %q", want)
			}
		}
	}
}
