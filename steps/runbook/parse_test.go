package runbook

import (
	"errors"
	"strings"
	"testing"
)

// brokenRunbook has one mistake of every kind the validator knows, each on
// its own line; the test expects every one reported, at its line, at once.
const brokenRunbook = `id: Bad_ID
title: A broken runbook
answers:
  root: {type: path, default: /, help: the root}
  size: {type: int, default: 99, min: 4096, max: 16777215, help: multilog s}
  pw: {type: secret, help: a password}
  kind: {type: colour, help: a bad type}
  loop_a: {type: string, default: "{{loop_b}}", help: a}
  loop_b: {type: string, default: "{{loop_a}}", help: b}
preflight:
  - id: pre-bad
    message: m
    fix: f
    check: {command: [true], path: /x}
steps:
  - id: one
    title: uses an unknown answer
    run: {argv: [echo, "{{rooot}}"]}
  - id: one
    title: a duplicate id
    run: {argv: [echo, "{{pw}}"]}
  - id: three
    title: an unknown key
    run: {argv: [true], timout: 5s}
  - id: four
    title: no kind
  - id: five
    title: two kinds
    run: {argv: [true]}
    wait: {until: {path: /x}, timeout: 1s}
  - id: six
    title: a bad mode
    file: {path: /x, content: y, mode: 755}
  - id: seven
    title: a bad state
    edit: {path: /x, line: y, state: presnt}
  - id: eight
    title: a node not yet available
    node: "db 1"
    confirm: {text: go}
  - id: nine
    title: a bad duration
    wait: {until: {port: "127.0.0.1:1"}, timeout: soon}
  - id: preflight
    title: a reserved id
    service: {regime: rc, state: stopped}
`

func TestValidateReportsEveryErrorAtOnceWithFileAndLine(t *testing.T) {
	_, err := Parse("broken.yaml", []byte(brokenRunbook))
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("want Problems, got %v", err)
	}
	want := []struct {
		line int
		msg  string
	}{
		{1, `id "Bad_ID"`},
		{5, "default of \"size\": below the minimum 4096"},
		{7, `type "colour": must be one of`},
		{8, "refers back to itself"},
		{11, `finding id "pre-bad"`},
		{14, "exactly one of command, path, grep, port, svstat or any (found 2)"},
		{18, `{{rooot}} names no answer of this runbook; did you mean "root"?`},
		{19, "step id one is used twice (first at line 16)"},
		{21, "{{pw}} is a secret: it may go only into stdin, env or a file's content"},
		{24, `unknown key "timout" in run of step three; did you mean "timeout"?`},
		{25, "step four has no kind"},
		{27, "step five has 2 kinds (run, wait)"},
		{33, `mode 755: quote an octal mode ("0755")`},
		{36, `state "presnt": must be one of present, absent, commented, uncommented; did you mean "present"?`},
		{39, `node "db 1": write local, each, or a node name`},
		{43, `"soon" is not a positive duration`},
		{44, `step id "preflight" is reserved`},
		{46, "an rc service needs script"},
	}
	text := ps.Error()
	for _, w := range want {
		found := false
		for _, p := range ps {
			if p.Line == w.line && strings.Contains(p.Msg, w.msg) && p.File == "broken.yaml" {
				found = true
			}
		}
		if !found {
			t.Errorf("missing broken.yaml:%d: …%s…\nall problems:\n%s", w.line, w.msg, text)
		}
	}
	for i := 1; i < len(ps); i++ {
		if ps[i].Line < ps[i-1].Line {
			t.Errorf("problems are not in line order: %s before %s", ps[i-1], ps[i])
		}
	}
	if !strings.HasPrefix(text, "broken.yaml:1: ") {
		t.Errorf("problems print as FILE:LINE: message:\n%s", text)
	}
}

func TestParseRules(t *testing.T) {
	head := "id: x\ntitle: t\n"
	tests := []struct {
		name, yaml, want string
	}{
		{"invalid YAML names its line", "id: x\ntitle: [unclosed\n", "not valid YAML"},
		{"a missing required key is named", "id: x\nsteps: [{id: a, title: b, confirm: {text: c}}]\n", `has no "title" (required)`},
		{"an unknown top-level key suggests the near one", head + "step: []\n", `did you mean "steps"?`},
		{"steps must be a list", head + "steps: {a: 1}\n", "steps must be a list"},
		{"an edit needs a line or a key", head + "steps: [{id: a, title: b, edit: {path: /x, state: absent}}]\n", "exactly one of line"},
		{"replaces only with present lines", head + "steps: [{id: a, title: b, edit: {path: /x, line: y, replaces: z, state: absent}}]\n", "replaces applies to a present line only"},
		{"a file needs content or copy", head + "steps: [{id: a, title: b, file: {path: /x, state: file}}]\n", "exactly one of content or copy"},
		{"undo_contents is for directories", head + "steps: [{id: a, title: b, file: {path: /x, content: y, undo_contents: keep}}]\n", "undo_contents applies to a directory only"},
		{"supervised needs a source", head + "steps: [{id: a, title: b, service: {regime: daemontools, state: supervised, dir: /s/x}}]\n", "supervised needs source"},
		{"stable must be shorter than timeout", head + "steps: [{id: a, title: b, wait: {until: {path: /x}, timeout: 1s, stable: 2s}}]\n", "must be shorter than timeout"},
		{"exit codes stay in 0..255", head + "steps: [{id: a, title: b, run: {argv: [x], exit: [256]}}]\n", "outside 0..255"},
		{"a bad regular expression is caught", head + "preflight: [{id: PRE-A-1, message: m, fix: f, check: {grep: {path: /x, pattern: '('}}}]\nsteps: [{id: a, title: b, confirm: {text: c}}]\n", "pattern:"},
		{"up_for only with svstat", head + "steps: [{id: a, title: b, wait: {until: {path: /x, up_for: 1s}, timeout: 2s}}]\n", "up_for applies to an svstat condition only"},
		{"empty argv", head + "steps: [{id: a, title: b, run: {argv: []}}]\n", "argv is empty"},
		{"min and max only for numbers", head + "answers: {a: {type: string, min: 1, help: h}}\nsteps: [{id: a, title: b, confirm: {text: c}}]\n", "min and max apply to int and port"},
		{"a secret has no default in the runbook", head + "answers: {a: {type: secret, default: x, help: h}}\nsteps: [{id: a, title: b, confirm: {text: c}}]\n", "cannot have a default"},
		{"a choice needs choices", head + "answers: {a: {type: choice, help: h}}\nsteps: [{id: a, title: b, confirm: {text: c}}]\n", "needs choices"},
		{"a backup's exclude is relative to its path", head + "steps: [{id: a, title: b, backup: {path: /x, dest: /y, exclude: [/x/cache]}}]\n", `exclude "/x/cache": give a path relative to the backup's path`},
		{"the upgrade's regimes are not a runbook's", head + "steps: [{id: a, title: b, service: {regime: sc3, state: stopped}}]\n", `regime "sc3" is one of the Messaging Server upgrade's regimes`},
		{"append only with replaces", head + "steps: [{id: a, title: b, edit: {path: /x, line: y, append: true, state: present}}]\n", "append applies with replaces only"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("t.yaml", []byte(tt.yaml))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestShippedRunbooksAreValid(t *testing.T) {
	if len(Shipped()) == 0 {
		t.Fatal("no shipped runbook")
	}
	for _, id := range Shipped() {
		rb, err := Load(id)
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		v := Defaults(rb)
		if got := v.Get("qmail_dir"); id == "qmail-daemontools" && got != "/var/qmail" {
			t.Errorf("qmail_dir default = %q, want /var/qmail (a path default from {{root}} is cleaned)", got)
		}
		o := PlanNodes(rb) // the nodes a runbook names, stood in for by the control host
		o.StateDir = t.TempDir()
		if _, err := Build(rb, v, o); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := Load("qmail-daemontool"); err == nil || !strings.Contains(err.Error(), `did you mean "qmail-daemontools"?`) {
		t.Errorf("an unknown shipped id suggests the near one: %v", err)
	}
}

// lintRunbook has, at known lines, every multilog size or count and every
// up_for the validator must refuse, and the ones it must accept.
const lintRunbook = `id: lint
title: multilog ranges and up_for types
answers:
  good_size: {type: int, default: 99999, min: 4096, max: 16777215, help: s}
  open_size: {type: int, default: 99999, help: no min or max}
  wide_size: {type: int, default: 99999, min: 4096, max: 99999999, help: max too big}
  word_size: {type: string, default: "99999", help: a string}
  count: {type: int, default: 10, min: 2, help: n}
  low_count: {type: int, default: 10, min: 1, help: n may be 1}
  stable: {type: duration, default: 5s, help: d}
  name: {type: string, default: x, help: s}
  port: {type: port, default: 25, help: p}
steps:
  - id: content
    title: log/run scripts
    file:
      path: /x
      content: |
        #!/bin/sh
        exec setuidgid u multilog t s99 n10 ./main
        exec setuidgid u multilog t s{{good_size}} n{{count}} ./main
        exec setuidgid u multilog t s{{open_size}} ./main
        exec multilog t s{{wide_size}} n{{low_count}} ./main
        exec multilog t s16777216 n1 ./main
        exec multilog t s{{word_size}} ./main
        echo s12 | multilog t s4096 ./main
  - id: argv
    title: multilog in argv
    run:
      argv: [multilog, t, s100, "n{{count}}", ./main]
      undo: [sh, -c, "exec multilog t s20000000 ./main"]
  - id: argv-ok
    title: multilog in argv within range
    run: {argv: [/usr/bin/multilog, t, s4096, n2, ./main]}
  - id: up1
    title: up_for a string
    wait: {until: {svstat: /s/x, up_for: "{{name}}"}, timeout: 60s}
  - id: up2
    title: up_for a port
    wait:
      until:
        svstat: /s/x
        up_for: "{{port}}"
      timeout: 60s
  - id: up3
    title: up_for a duration answer
    wait: {until: {svstat: /s/x, up_for: "{{stable}}"}, timeout: 60s}
  - id: up4
    title: up_for text around a reference
    wait: {until: {svstat: /s/x, up_for: "{{stable}}0"}, timeout: 60s}
`

func TestValidateMultilogRangesAndUpForTypesAtTheirLines(t *testing.T) {
	_, err := Parse("lint.yaml", []byte(lintRunbook))
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("want Problems, got %v", err)
	}
	want := []struct {
		line int
		msg  string
	}{
		{20, "multilog s99: s (the largest log file, in bytes) must be between 4096 and 16777215 (multilog(8))"},
		{22, "multilog s{{open_size}}: s (the largest log file, in bytes) must be between 4096 and 16777215 (multilog(8)), but answer open_size allows less; declare min: 4096"},
		{23, "multilog s{{wide_size}}: s (the largest log file, in bytes) must be between 4096 and 16777215 (multilog(8)), but answer wide_size allows more; declare max: 16777215"},
		{23, "multilog n{{low_count}}: n (how many log files are kept) must be at least 2 (multilog(8)), but answer low_count allows less; declare min: 2"},
		{24, "multilog s16777216: s (the largest log file, in bytes) must be between 4096 and 16777215"},
		{24, "multilog n1: n (how many log files are kept) must be at least 2"},
		{25, "but answer word_size is of type string; make it an int with min: 4096 and max: 16777215"},
		{30, "multilog s100: s (the largest log file, in bytes) must be between 4096"},
		{31, "multilog s20000000: s (the largest log file, in bytes) must be between 4096 and 16777215"},
		{37, "up_for {{name}}: answer name is of type string; up_for needs a duration answer (type: duration)"},
		{43, "up_for {{port}}: answer port is of type port"},
		{50, `up_for "{{stable}}0": write a duration (30s) or one reference to a duration answer`},
	}
	for _, w := range want {
		found := false
		for _, p := range ps {
			if p.Line == w.line && strings.Contains(p.Msg, w.msg) && p.File == "lint.yaml" {
				found = true
			}
		}
		if !found {
			t.Errorf("missing lint.yaml:%d: …%s…\nall problems:\n%s", w.line, w.msg, ps.Error())
		}
	}
	if len(ps) != len(want) {
		t.Errorf("%d problems, want %d (the accepted lines 21, 26, 33 and 46 must stay quiet):\n%s", len(ps), len(want), ps.Error())
	}
}
