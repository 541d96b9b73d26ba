package runbook

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"mswizard/wizard"
	"mswizard/wizard/answers"
)

func TestRunStep(t *testing.T) {
	w := newWorld(t, `  word: {type: string, default: "a b;$HOME", help: w}
  pw: {type: secret, help: p}
`, `  - id: mark
    title: mark
    run:
      argv: [sh, -c, 'printf "%s" "$1" > "$0"', "{{root}}/mark", "{{word}}"]
      check: {path: "{{root}}/mark"}
      undo: [rm, -f, "{{root}}/mark"]
  - id: fails
    title: fails
    run: {argv: [sh, -c, "echo oops; exit 3"], exit: [0, 1]}
  - id: noundo
    title: no undo
    run: {argv: ["true"], idempotent: true}
  - id: secret
    title: stdin
    run:
      argv: [sh, -c, 'cat > "$0"; echo "$X" >> "$0"', "{{root}}/pw"]
      stdin: "{{pw}}"
      env: {X: "env-{{pw}}"}
  - id: exits
    title: accepted exit codes
    run: {argv: [sh, -c, "exit 2"], exit: [2]}
  - id: slow
    title: a command past its timeout
    run: {argv: [sleep, "5"], timeout: 200ms}
  - id: indir
    title: a command in a directory
    run: {argv: [sh, -c, "pwd > here"], dir: "{{root}}/sub"}
`, "pw = s3cret\n")
	t.Run("check reads the host: the goal does not hold yet", func(t *testing.T) {
		if done, why := w.check("mark"); done || !strings.Contains(why, "does not exist") {
			t.Fatalf("check = %v %q", done, why)
		}
	})
	t.Run("plan substitutes answers into argv elements, never through a shell", func(t *testing.T) {
		as := w.plan("mark")
		want := `sh -c 'printf "%s" "$1" > "$0"' ` + w.path("mark") + ` 'a b;$HOME'`
		if len(as) != 1 || as[0].Summary != want || as[0].Irreversible != "" {
			t.Fatalf("plan = %+v\nwant %s", as, want)
		}
	})
	t.Run("the action runs argv and its receipt keeps the exit code and output", func(t *testing.T) {
		rcs := w.apply("mark")
		if got := w.read("mark"); got != "a b;$HOME" {
			t.Fatalf("the argument reached the program as %q", got)
		}
		if rcs[0].Command == nil || rcs[0].Command.ExitCode != 0 {
			t.Fatalf("receipt %+v", rcs[0])
		}
		if done, _ := w.check("mark"); !done {
			t.Fatal("check after the action")
		}
	})
	t.Run("in doubt: the check decides it was done", func(t *testing.T) {
		res, err := wizard.Describe(w.step("mark")).InDoubt(context.Background(), w.env, 0, "")
		if err != nil || res != wizard.WasDone {
			t.Fatalf("res %v err %v", res, err)
		}
	})
	t.Run("undo runs the undo command", func(t *testing.T) {
		w.undo("mark", nil)
		if _, err := os.Stat(w.path("mark")); !errors.Is(err, fs.ErrNotExist) {
			t.Fatal("undo left the mark")
		}
	})
	t.Run("in doubt: not done and not idempotent is the operator's decision", func(t *testing.T) {
		res, _ := wizard.Describe(w.step("mark")).InDoubt(context.Background(), w.env, 0, "")
		if res != wizard.Undecided {
			t.Fatalf("res %v", res)
		}
	})
	t.Run("in doubt: an idempotent command without check runs again", func(t *testing.T) {
		res, _ := wizard.Describe(w.step("noundo")).InDoubt(context.Background(), w.env, 0, "")
		if res != wizard.NotDone {
			t.Fatalf("res %v", res)
		}
	})
	t.Run("an unexpected exit fails naming the expected codes and the output", func(t *testing.T) {
		a := w.plan("fails")[0]
		rc := wizard.Receipt{}
		err := a.Do(context.Background(), &rc)
		if err == nil || !strings.Contains(err.Error(), "exit status 3 (expected 0 or 1): oops") {
			t.Fatalf("err = %v", err)
		}
		if rc.Command == nil || rc.Command.ExitCode != 3 || !strings.Contains(rc.Command.Tail, "oops") {
			t.Fatalf("receipt %+v", rc.Command)
		}
	})
	t.Run("declared exit codes are success", func(t *testing.T) {
		w.apply("exits")
	})
	t.Run("a command past its timeout is killed and the step fails saying so", func(t *testing.T) {
		a := w.plan("slow")[0]
		start := time.Now()
		rc := wizard.Receipt{}
		err := a.Do(context.Background(), &rc)
		if d := time.Since(start); d > 3*time.Second {
			t.Fatalf("the command ran %s: its timeout of 200ms was not enforced", d)
		}
		if err == nil || !strings.Contains(err.Error(), "sleep 5: killed at its timeout of 200ms") {
			t.Fatalf("err = %v", err)
		}
		// The timeout's clock starts before the process does, so the
		// receipt's duration may fall a little short of 200ms.
		if rc.Command == nil || rc.Command.Duration < 150*time.Millisecond {
			t.Fatalf("the receipt does not keep the killed command: %+v", rc.Command)
		}
	})
	t.Run("dir runs the command there, and the plan says so", func(t *testing.T) {
		if err := os.MkdirAll(w.path("sub"), 0o755); err != nil {
			t.Fatal(err)
		}
		if a := w.plan("indir")[0]; a.Summary != "(cd "+w.path("sub")+") sh -c 'pwd > here'" {
			t.Fatalf("plan %q", a.Summary)
		}
		w.apply("indir")
		if got := w.read("sub/here"); got != w.path("sub")+"\n" {
			t.Fatalf("the command ran in %q", got)
		}
	})
	t.Run("no undo declared: the plan says it cannot be taken back", func(t *testing.T) {
		if a := w.plan("noundo")[0]; a.Irreversible == "" || !a.Idempotent {
			t.Fatalf("%+v", a)
		}
		if as, _ := w.step("noundo").Undo(context.Background(), w.env, nil); len(as) != 0 {
			t.Fatal("an undo for a step without one")
		}
		if d := wizard.Describe(w.step("noundo")).UndoText; !strings.HasPrefix(d, "nothing") {
			t.Fatal(d)
		}
	})
	t.Run("a secret reaches stdin and env, never the plan or the receipt's argv", func(t *testing.T) {
		rcs := w.apply("secret")
		if got := w.read("pw"); got != "s3cretenv-s3cret\n" {
			t.Fatalf("the program got %q", got)
		}
		line := rcs[0].Summary + strings.Join(rcs[0].Command.Argv, " ")
		if strings.Contains(line, "s3cret") || !strings.Contains(rcs[0].Summary, "(env X from the runbook) (stdin from the runbook)") {
			t.Fatalf("summary/argv: %s", line)
		}
	})
}

func TestEditStep(t *testing.T) {
	orig := "#!/bin/sh\n# KEY=old\nexec qmail-start ./Maildir/ splogger qmail\nA = 1\n#disabled line\nkeep me\n"
	tests := []struct {
		name, spec, want string
	}{
		{"a present line replaces the line it names", `line: "exec qmail-start ./Maildir/", replaces: "exec qmail-start ./Maildir/ splogger qmail", state: present`,
			"#!/bin/sh\n# KEY=old\nexec qmail-start ./Maildir/\nA = 1\n#disabled line\nkeep me\n"},
		{"a present line missing is appended", `line: "new line", state: present`, orig + "new line\n"},
		{"a present line commented out is uncommented", `line: "disabled line", state: present`, strings.Replace(orig, "#disabled line", "disabled line", 1)},
		{"an absent line is removed", `line: "keep me", state: absent`, strings.Replace(orig, "keep me\n", "", 1)},
		{"a commented line gets the comment mark", `line: "keep me", state: commented`, strings.Replace(orig, "keep me", "# keep me", 1)},
		{"an uncommented line loses it", `line: "disabled line", state: uncommented`, strings.Replace(orig, "#disabled line", "disabled line", 1)},
		{"a present record gets its value", `key: A, value: "2", separator: "=", state: present`, strings.Replace(orig, "A = 1", "A=2", 1)},
		{"a commented record is uncommented with the value", `key: KEY, value: new, state: present`, strings.Replace(orig, "# KEY=old", "KEY=new", 1)},
		{"a record missing is appended", `key: B, value: "3", state: present`, orig + "B=3\n"},
		{"an absent record is removed", `key: A, state: absent`, strings.Replace(orig, "A = 1\n", "", 1)},
		{"a commented record", `key: A, state: commented`, strings.Replace(orig, "A = 1", "# A = 1", 1)},
		{"an uncommented record", `key: KEY, state: uncommented`, strings.Replace(orig, "# KEY=old", "KEY=old", 1)},
		{"a custom separator reads and writes the record with it", `key: A, value: "2", separator: " = ", state: present`, strings.Replace(orig, "A = 1", "A = 2", 1)},
		{"a custom comment mark comments a line with it", `line: "keep me", state: commented, comment: "//"`, strings.Replace(orig, "keep me", "// keep me", 1)},
		{"a custom comment mark comments a record with it", `key: A, separator: " = ", state: commented, comment: ";"`, strings.Replace(orig, "A = 1", "; A = 1", 1)},
		{"a line commented with another mark is not taken for commented", `line: "disabled line", state: present, comment: "//"`, orig + "disabled line\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, "", "  - {id: e, title: e, edit: {path: \"{{root}}/rc\", "+tt.spec+"}}\n", "")
			w.write("rc", orig, 0o640)
			if err := os.Chown(w.path("rc"), 1, 2); err != nil && os.Getuid() == 0 {
				t.Fatal(err)
			}
			if done, _ := w.check("e"); done {
				t.Fatal("check says done before the edit")
			}
			rcs := w.apply("e")
			if got := w.read("rc"); got != tt.want {
				t.Fatalf("edited:\n%q\nwant\n%q", got, tt.want)
			}
			fi, _ := os.Stat(w.path("rc"))
			if fi.Mode().Perm() != 0o640 {
				t.Errorf("mode %v", fi.Mode())
			}
			if done, why := w.check("e"); !done {
				t.Fatalf("check after the edit: %s", why)
			}
			w.apply("e") // in doubt, idempotent: a second run changes nothing
			if got := w.read("rc"); got != tt.want {
				t.Fatalf("a second application changed it:\n%q", got)
			}
			as := w.undo("e", rcs)
			if !strings.Contains(as[0].Summary, "restore "+w.path("rc")+" to its original (sha256 ") {
				t.Errorf("undo summary %q", as[0].Summary)
			}
			if got := w.read("rc"); got != orig {
				t.Fatalf("undo left:\n%q", got)
			}
			st, _ := os.Stat(w.path("rc"))
			if sys := st.Sys().(*syscall.Stat_t); os.Getuid() == 0 && (sys.Uid != 1 || sys.Gid != 2) || st.Mode().Perm() != 0o640 {
				t.Errorf("undo did not restore mode and owner: %v %d:%d", st.Mode(), sys.Uid, sys.Gid)
			}
			w.undo("e", rcs) // a repeated undo (in doubt) finds nothing kept and changes nothing
			if got := w.read("rc"); got != orig {
				t.Fatal("a repeated undo changed the file")
			}
		})
	}
	t.Run("the original kept is the very first, across a rerun", func(t *testing.T) {
		w := newWorld(t, "", "  - {id: e, title: e, edit: {path: \"{{root}}/rc\", line: x, state: present}}\n", "")
		w.write("rc", "a\n", 0o644)
		w.apply("e")
		w.write("rc", "a\nb\n", 0o644) // someone changes it; a rerun edits again
		w.apply("e")
		w.undo("e", nil)
		if got := w.read("rc"); got != "a\n" {
			t.Fatalf("undo restored %q, not the original", got)
		}
	})
	t.Run("replaces not found fails naming the file, the line and the fix, and changes nothing", func(t *testing.T) {
		// netqmail's rc: the line the qmail runbook replaces is not there.
		netqmail := "#!/bin/sh\nexec env - PATH=\"/var/qmail/bin:$PATH\" \\\nqmail-start \"`cat /var/qmail/control/defaultdelivery`\" splogger qmail\n"
		w := newWorld(t, "", "  - {id: e, title: e, edit: {path: \"{{root}}/rc\", line: \"qmail-start ./Maildir/\", replaces: \"qmail-start ./Maildir/ splogger qmail\", state: present}}\n", "")
		w.write("rc", netqmail, 0o755)
		done, why := w.check("e")
		want := []string{w.path("rc"), `"qmail-start ./Maildir/ splogger qmail"`, "change the step's replaces", "append: true"}
		for _, s := range want {
			if done || !strings.Contains(why, s) {
				t.Fatalf("check = %v %q, want it to name %q", done, why, s)
			}
		}
		err := w.plan("e")[0].Do(context.Background(), &wizard.Receipt{})
		for _, s := range want {
			if err == nil || !strings.Contains(err.Error(), s) {
				t.Fatalf("action err = %v, want it to name %q", err, s)
			}
		}
		if got := w.read("rc"); got != netqmail {
			t.Fatalf("the failed edit changed the file:\n%q", got)
		}
	})
	t.Run("replaces not found with append: true appends the line", func(t *testing.T) {
		w := newWorld(t, "", "  - {id: e, title: e, edit: {path: \"{{root}}/rc\", line: new, replaces: old, append: true, state: present}}\n", "")
		w.write("rc", "a\n", 0o644)
		if a := w.plan("e")[0]; !strings.Contains(a.Summary, `in place of "old" (added when that line is missing)`) {
			t.Fatalf("plan %q", a.Summary)
		}
		w.apply("e")
		if got := w.read("rc"); got != "a\nnew\n" {
			t.Fatalf("got %q", got)
		}
	})
	t.Run("uncommenting a line that is not there fails", func(t *testing.T) {
		w := newWorld(t, "", "  - {id: e, title: e, edit: {path: \"{{root}}/rc\", line: zz, state: uncommented}}\n", "")
		w.write("rc", "a\n", 0o644)
		a := w.plan("e")[0]
		if err := a.Do(context.Background(), &wizard.Receipt{}); err == nil || !strings.Contains(err.Error(), "no line") {
			t.Fatalf("err %v", err)
		}
	})
}

func TestFileStep(t *testing.T) {
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(nobody.Uid)
	spec := `  - {id: write, title: w, file: {path: "{{root}}/f", content: "hello {{who}}\n", mode: "0750"}}
  - {id: copy, title: c, file: {path: "{{root}}/c", copy: "{{root}}/src"}}
  - {id: dir, title: d, file: {path: "{{root}}/d", state: directory, mode: "0700", owner: nobody, group: "0"}}
  - {id: dirkeep, title: d, file: {path: "{{root}}/dk", state: directory, undo_contents: keep}}
  - {id: dirrm, title: d, file: {path: "{{root}}/dr", state: directory, undo_contents: remove}}
  - {id: link, title: l, file: {path: "{{root}}/l", target: "{{root}}/f"}}
  - {id: gone, title: g, file: {path: "{{root}}/old", state: absent}}
  - {id: secretfile, title: s, file: {path: "{{root}}/s", content: "pw={{pw}}\n", mode: "0600"}}
`
	mk := func(t *testing.T) *world {
		return newWorld(t, "  who: {type: string, default: world, help: h}\n  pw: {type: secret, help: p}\n", spec, "pw = s3cret\n")
	}
	t.Run("a file written over nothing is removed by the undo", func(t *testing.T) {
		w := mk(t)
		if as := w.plan("write"); !strings.HasPrefix(as[0].Summary, "write "+w.path("f")+" (12 bytes, sha256 ") || !strings.HasSuffix(as[0].Summary, ", mode 0750)") {
			t.Fatalf("summary %q", as[0].Summary)
		}
		rcs := w.apply("write")
		if w.read("f") != "hello world\n" || rcs[0].Files[0].Size != 12 {
			t.Fatalf("wrote %q, receipt %+v", w.read("f"), rcs)
		}
		if fi, _ := os.Stat(w.path("f")); fi.Mode().Perm() != 0o750 {
			t.Fatalf("mode %v", fi.Mode())
		}
		if done, _ := w.check("write"); !done {
			t.Fatal("check")
		}
		as := w.undo("write", rcs)
		if !strings.HasSuffix(as[0].Summary, "to what was there: nothing") {
			t.Errorf("undo summary %q", as[0].Summary)
		}
		if _, err := os.Lstat(w.path("f")); !errors.Is(err, fs.ErrNotExist) {
			t.Fatal("undo left the file")
		}
	})
	t.Run("a file written over a file gets the old bytes and mode back", func(t *testing.T) {
		w := mk(t)
		w.write("f", "old\n", 0o604)
		rcs := w.apply("write")
		w.undo("write", rcs)
		fi, _ := os.Stat(w.path("f"))
		if w.read("f") != "old\n" || fi.Mode().Perm() != 0o604 {
			t.Fatalf("undo left %q %v", w.read("f"), fi.Mode())
		}
	})
	t.Run("a copy copies", func(t *testing.T) {
		w := mk(t)
		w.write("src", "source\n", 0o644)
		w.apply("copy")
		if w.read("c") != "source\n" {
			t.Fatal(w.read("c"))
		}
		if done, _ := w.check("copy"); !done {
			t.Fatal("check")
		}
	})
	t.Run("a directory gets its mode and owner; undo removes it when empty", func(t *testing.T) {
		w := mk(t)
		rcs := w.apply("dir")
		var st syscall.Stat_t
		_ = syscall.Stat(w.path("d"), &st)
		if int(st.Uid) != uid || st.Mode&0o777 != 0o700 {
			t.Fatalf("owner %d mode %o", st.Uid, st.Mode&0o777)
		}
		if done, why := w.check("dir"); !done {
			t.Fatal(why)
		}
		w.undo("dir", rcs)
		if _, err := os.Lstat(w.path("d")); !errors.Is(err, fs.ErrNotExist) {
			t.Fatal("undo left the directory")
		}
	})
	t.Run("a directory others filled: refuse, keep, or remove, as the runbook says", func(t *testing.T) {
		w := mk(t)
		w.apply("dir")
		w.write("d/supervise/status", "x", 0o644)
		as, _ := w.step("dir").Undo(context.Background(), w.env, nil)
		if err := as[0].Do(context.Background(), &wizard.Receipt{}); err == nil || !strings.Contains(err.Error(), "holds files made since") {
			t.Fatalf("refuse: %v", err)
		}
		w.apply("dirkeep")
		w.write("dk/current", "log", 0o644)
		w.undo("dirkeep", nil)
		if w.read("dk/current") != "log" {
			t.Fatal("keep removed it")
		}
		w.apply("dirrm")
		w.write("dr/supervise/status", "x", 0o644)
		w.undo("dirrm", nil)
		if _, err := os.Lstat(w.path("dr")); !errors.Is(err, fs.ErrNotExist) {
			t.Fatal("remove left it")
		}
	})
	t.Run("a symlink, and its undo restores the one that was there", func(t *testing.T) {
		w := mk(t)
		if err := os.Symlink("elsewhere", w.path("l")); err != nil {
			t.Fatal(err)
		}
		if done, why := w.check("link"); done || !strings.Contains(why, "points at elsewhere") {
			t.Fatal(why)
		}
		rcs := w.apply("link")
		if tgt, _ := os.Readlink(w.path("l")); tgt != w.path("f") {
			t.Fatal(tgt)
		}
		w.undo("link", rcs)
		if tgt, _ := os.Readlink(w.path("l")); tgt != "elsewhere" {
			t.Fatalf("undo left %q", tgt)
		}
	})
	t.Run("absent removes; undo puts the file back", func(t *testing.T) {
		w := mk(t)
		w.write("old", "keep\n", 0o640)
		if a := w.plan("gone")[0]; !strings.HasPrefix(a.Summary, "remove ") {
			t.Fatal(a.Summary)
		}
		rcs := w.apply("gone")
		if done, _ := w.check("gone"); !done {
			t.Fatal("still there")
		}
		w.undo("gone", rcs)
		if w.read("old") != "keep\n" {
			t.Fatal("not restored")
		}
	})
	t.Run("a secret in the content reaches the file, never the plan or the receipt", func(t *testing.T) {
		w := mk(t)
		a := w.plan("secretfile")[0]
		if strings.Contains(a.Summary, "s3cret") || strings.Contains(a.Summary, "sha256") {
			t.Fatalf("summary %q", a.Summary)
		}
		rcs := w.apply("secretfile")
		if w.read("s") != "pw=s3cret\n" || len(rcs[0].Files) != 0 {
			t.Fatalf("%q %+v", w.read("s"), rcs[0].Files)
		}
	})
	t.Run("in doubt: killed after the prior was kept and before the effect, undo changes nothing", func(t *testing.T) {
		w := mk(t)
		w.write("f", "mine\n", 0o644)
		fs := w.kind("write").(*fileStep)
		if _, err := fs.savePrior(context.Background()); err != nil {
			t.Fatal(err)
		}
		w.undo("write", nil)
		if w.read("f") != "mine\n" {
			t.Fatal("undo changed the file")
		}
	})
}

// lsbScript is an LSB-style init script over a sleep with a pid file.
const lsbScript = `#!/bin/sh
P=%s/pid
case "$1" in
start) [ -f $P ] && kill -0 $(cat $P) 2>/dev/null && exit 0; sleep 60 </dev/null >/dev/null 2>&1 & echo $! > $P ;;
stop) [ -f $P ] && kill $(cat $P) 2>/dev/null; rm -f $P ;;
status) [ -f $P ] && kill -0 $(cat $P) 2>/dev/null && { echo running; exit 0; }; echo stopped; exit 3 ;;
esac
`

func TestServiceRC(t *testing.T) {
	w := newWorld(t, "", `  - {id: stop, title: s, service: {regime: rc, script: "{{root}}/init", state: stopped, timeout: 5s}}
  - {id: start, title: s, service: {regime: rc, script: "{{root}}/init", state: started, timeout: 5s}}
  - {id: odd, title: s, service: {regime: rc, script: "{{root}}/odd", state: stopped}}
`, "")
	w.write("init", strings.ReplaceAll(lsbScript, "%s", w.dir), 0o755)
	w.write("odd", "#!/bin/sh\nexit 4\n", 0o755)
	t.Cleanup(func() { _ = runLocal(w.path("init"), "stop") })
	w.apply("start")
	if done, why := w.check("start"); !done || !strings.Contains(why, "exited 0") {
		t.Fatal(why)
	}
	if done, _ := w.check("stop"); done {
		t.Fatal("stop says done while it runs")
	}
	if a := w.plan("stop")[0]; !strings.HasPrefix(a.Summary, w.path("init")+" stop (then `") {
		t.Fatal(a.Summary)
	}
	w.apply("stop")
	if done, _ := w.check("stop"); !done {
		t.Fatal("not stopped")
	}
	res, _ := wizard.Describe(w.step("stop")).InDoubt(context.Background(), w.env, 0, "")
	if res != wizard.WasDone {
		t.Fatalf("in doubt with the service stopped: %v", res)
	}
	as := w.undo("stop", nil)
	if !strings.HasPrefix(as[0].Summary, w.path("init")+" start") {
		t.Fatal(as[0].Summary)
	}
	if done, _ := w.check("start"); !done {
		t.Fatal("undo did not start it")
	}
	if _, _, err := w.step("odd").Check(context.Background(), w.env); err == nil || !strings.Contains(err.Error(), "LSB status codes") {
		t.Fatalf("an unknown status is never taken for stopped: %v", err)
	}
}

func runLocal(argv ...string) error {
	_, err := (localNodes()["local"]).Run(context.Background(), nodeCommand(argv))
	return err
}

func TestWaitStep(t *testing.T) {
	w := newWorld(t, "", `  - {id: w, title: w, wait: {until: {command: [cat, "{{root}}/flag"], output: ready}, timeout: 5s, interval: 100ms, stable: 300ms}}
  - {id: never, title: n, wait: {until: {port: "127.0.0.1:1"}, timeout: 300ms, interval: 100ms}}
  - {id: grep, title: g, wait: {until: {grep: {path: "{{root}}/flag", pattern: "^rea"}}, timeout: 1s}}
  - {id: anyof, title: a, wait: {until: {any: [{path: "{{root}}/nope"}, {path: "{{root}}/flag", not: false}]}, timeout: 1s}}
`, "")
	if done, _ := w.check("w"); done {
		t.Fatal("a wait is never done before it runs")
	}
	go func() {
		time.Sleep(300 * time.Millisecond)
		_ = os.WriteFile(w.path("flag"), []byte("ready\n"), 0o644)
	}()
	start := time.Now()
	rcs := w.apply("w")
	if d := time.Since(start); d < 600*time.Millisecond {
		t.Fatalf("returned after %s: before the condition held for the stable time", d)
	}
	if !strings.Contains(rcs[0].Note, "held for") {
		t.Fatal(rcs[0].Note)
	}
	w.apply("grep")
	w.apply("anyof")
	a := w.plan("never")[0]
	if err := a.Do(context.Background(), &wizard.Receipt{}); err == nil || !strings.Contains(err.Error(), "did not hold within 300ms; last: 127.0.0.1:1 refuses connections") {
		t.Fatalf("err %v", err)
	}
	if as, _ := w.step("w").Undo(context.Background(), w.env, nil); len(as) != 0 {
		t.Fatal("a wait has no undo")
	}
}

// A confirm step through the engine, as `mswizard run` in batch drives it:
// without a confirmation the run stops there with a decision (exit 3), the
// steps before it done and none after it; with Confirmed = STEP in the
// answers it goes on, and the journal keeps who confirmed.
func TestConfirmStepThroughTheRunner(t *testing.T) {
	const steps = `  - {id: before, title: b, run: {argv: [touch, "{{root}}/before"], check: {path: "{{root}}/before"}, undo: [rm, "{{root}}/before"]}}
  - {id: ask, title: a, confirm: {text: "put the tape in"}}
  - {id: after, title: c, run: {argv: [touch, "{{root}}/after"], check: {path: "{{root}}/after"}, undo: [rm, "{{root}}/after"]}}
`
	w := newWorld(t, "", steps, "")
	if a := w.plan("ask")[0]; a.Summary != "operator confirms: put the tape in" {
		t.Fatal(a.Summary)
	}
	q := wizard.Describe(w.step("ask")).Confirm
	if !strings.HasPrefix(q, "put the tape in\n") || !strings.Contains(q, "`Confirmed = ask` to [Runbook]") {
		t.Fatalf("the question does not say how to confirm in batch: %q", q)
	}

	r, done := w.runner(nil, wizard.Options{}) // batch: nobody to ask, no --yes
	err := r.Apply(context.Background())
	done()
	var de *wizard.DecisionError
	if !errors.As(err, &de) || de.Step != "ask" || !strings.Contains(de.Why, "put the tape in") || !strings.Contains(de.Why, "Confirmed = ask") {
		t.Fatalf("without a confirmation: %v, want a decision (exit 3) at ask naming Confirmed = ask", err)
	}
	if st := w.stateOf("before").State; st != wizard.StateDone {
		t.Fatalf("before is %s", st)
	}
	if _, err := os.Stat(w.path("after")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatal("the run went past the unconfirmed step")
	}

	// The operator adds Confirmed = ask to the answers and reruns.
	f, err := answers.Parse("t.inf", []byte("[Runbook]\nConfirmed = ask\n[t]\nroot = "+w.dir+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	v, err := valuesFrom(w.rb, f, w.dir, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	confirmed, err := Build(w.rb, v, Options{StateDir: w.state, Nodes: localNodes()})
	if err != nil {
		t.Fatal(err)
	}
	if q := wizard.Describe(confirmed[1]).Confirm; q != "" {
		t.Fatalf("Confirmed = ask in the answers, yet the step still asks %q", q)
	}
	r, done = w.runner(confirmed, wizard.Options{})
	err = r.Apply(context.Background())
	done()
	if err != nil {
		t.Fatalf("with Confirmed = ask: %v", err)
	}
	rec := w.stateOf("ask")
	if rec.State != wizard.StateDone || len(rec.Receipts) != 1 || rec.Receipts[0].Note != "confirmed by Confirmed = ask in the answers" {
		t.Fatalf("ask in the journal: %+v", rec)
	}
	if w.read("after") != "" {
		t.Fatal("after did not run")
	}
}

// A confirm step asked in the TUI: a yes is journaled as the operator's, a
// no stops the run.
func TestConfirmStepAskedByTheFace(t *testing.T) {
	w := newWorld(t, "", "  - {id: ask, title: a, confirm: {text: \"put the tape in\"}}\n", "")
	var asked []string
	r, done := w.runner(nil, wizard.Options{})
	r.Ask = func(_ context.Context, q wizard.Question) (bool, error) {
		asked = append(asked, q.ID)
		return false, nil
	}
	err := r.Apply(context.Background())
	done()
	var de *wizard.DecisionError
	if !errors.As(err, &de) || !strings.Contains(de.Why, "declined") || len(asked) != 1 {
		t.Fatalf("declined: %v (asked %v)", err, asked)
	}
	r, done = w.runner(nil, wizard.Options{})
	r.Ask = func(_ context.Context, q wizard.Question) (bool, error) { return true, nil }
	err = r.Apply(context.Background())
	done()
	if err != nil {
		t.Fatal(err)
	}
	if rec := w.stateOf("ask"); rec.State != wizard.StateDone || rec.Receipts[0].Note != "confirmed" {
		t.Fatalf("ask: %+v", rec)
	}
}

// In doubt through the engine: a wizard killed during an edit, a file or a
// backup action leaves a begin without an outcome. The rerun settles it from
// the host (each is idempotent; its check says whether the goal holds), ends
// with the step done, and a backout takes it back to what was there before.
func TestInDoubtThroughTheRunner(t *testing.T) {
	const orig = "exec qmail-start ./Maildir/ splogger qmail\n"
	tests := []struct {
		name, step string
		// crash leaves the host as a kill during the action would.
		crash func(w *world)
		after func(w *world)
		back  func(w *world)
	}{
		{"an edit killed after its effect is done, not redone; backout restores the original", "edit",
			func(w *world) { w.apply("edit") },
			func(w *world) {
				if got := w.read("rc"); got != "exec qmail-start ./Maildir/\n" {
					t.Fatalf("rc %q", got)
				}
			},
			func(w *world) {
				if got := w.read("rc"); got != orig {
					t.Fatalf("backout left rc %q", got)
				}
			}},
		{"an edit killed after keeping the original, before writing, runs again", "edit",
			func(w *world) {
				e := w.kind("edit").(*editStep)
				if err := os.MkdirAll(e.saveDir, 0o700); err != nil {
					t.Fatal(err)
				}
				if err := writeSaved(filepath.Join(e.saveDir, "original"), []byte(orig)); err != nil {
					t.Fatal(err)
				}
				fi, _ := os.Stat(w.path("rc"))
				if err := e.saveJSON("original.json", original{Path: w.path("rc"), SHA256: sha([]byte(orig)), Mode: uint32(fi.Mode().Perm())}); err != nil {
					t.Fatal(err)
				}
			},
			func(w *world) {
				if got := w.read("rc"); got != "exec qmail-start ./Maildir/\n" {
					t.Fatalf("rc %q", got)
				}
			},
			func(w *world) {
				if got := w.read("rc"); got != orig {
					t.Fatalf("backout left rc %q", got)
				}
			}},
		{"a file killed after keeping what was there, before writing, runs again; backout leaves nothing", "file",
			func(w *world) {
				if _, err := w.kind("file").(*fileStep).savePrior(context.Background()); err != nil {
					t.Fatal(err)
				}
			},
			func(w *world) {
				if w.read("run") != "#!/bin/sh\nexec true\n" {
					t.Fatal(w.read("run"))
				}
			},
			func(w *world) {
				if _, err := os.Lstat(w.path("run")); !errors.Is(err, fs.ErrNotExist) {
					t.Fatal("backout left the file")
				}
			}},
		{"a backup killed mid-archive makes a new, verified archive", "backup",
			func(w *world) { w.write("archives/data-19700101T000000Z.tar.zst", "torn", 0o600) },
			func(w *world) {
				if done, why := w.check("backup"); !done {
					t.Fatal(why)
				}
			},
			func(w *world) {
				if done, _ := w.check("backup"); done {
					t.Fatal("after the backout the archive still counts as this run's")
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, "", `  - {id: edit, title: e, edit: {path: "{{root}}/rc", line: "exec qmail-start ./Maildir/", replaces: "exec qmail-start ./Maildir/ splogger qmail", state: present}}
  - {id: file, title: f, file: {path: "{{root}}/run", content: "#!/bin/sh\nexec true\n", mode: "0755"}}
  - {id: backup, title: b, backup: {path: "{{root}}/data", dest: "{{root}}/archives", name: data}}
`, "")
			w.write("rc", orig, 0o755)
			w.write("data/a", "alpha", 0o644)
			var only []wizard.Step
			for _, s := range w.order {
				if s.ID() == tt.step {
					only = append(only, s)
				}
			}
			w.crashIn(tt.step, 0)
			tt.crash(w)
			if st := w.stateOf(tt.step).State; st != wizard.StateInDoubt {
				t.Fatalf("the journal after the kill says %s, want in-doubt", st)
			}
			r, done := w.runner(only, wizard.Options{})
			err := r.Apply(context.Background())
			done()
			if err != nil {
				t.Fatalf("the rerun: %v", err)
			}
			if rec := w.stateOf(tt.step); rec.State != wizard.StateDone {
				t.Fatalf("after the rerun %s is %s, want done (so a backout takes it back)", tt.step, rec.State)
			}
			tt.after(w)
			r, done = w.runner(only, wizard.Options{Yes: true})
			err = r.Backout(context.Background())
			done()
			if err != nil {
				t.Fatalf("backout: %v", err)
			}
			tt.back(w)
		})
	}
}

func mustParse(t *testing.T, src string) *Runbook {
	t.Helper()
	rb, err := Parse("t.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return rb
}

func TestBackupStep(t *testing.T) {
	w := newWorld(t, "", `  - {id: b, title: b, backup: {path: "{{root}}/data", dest: "{{root}}/archives", name: data, exclude: [cache, sub/tmp]}}
`, "")
	w.write("data/a", "alpha", 0o644)
	w.write("data/sub/b", "beta", 0o600)
	w.write("data/cache/big", "left out", 0o644)
	w.write("data/sub/tmp/x", "left out", 0o644)
	w.write("data/cachet", "kept: only cache and what is below it are left out", 0o644)
	if done, _ := w.check("b"); done {
		t.Fatal("done before")
	}
	rcs := w.apply("b")
	if len(rcs[0].Files) != 1 || !strings.HasPrefix(filepath.Base(rcs[0].Files[0].Path), "data-") || !strings.Contains(rcs[0].Note, "verified") {
		t.Fatalf("receipt %+v", rcs[0])
	}
	if done, why := w.check("b"); !done || !strings.Contains(why, "archived and verified") {
		t.Fatal(why)
	}
	archive := rcs[0].Files[0].Path
	var rec backupRecord
	if err := rcs[0].DataInto(&rec); err != nil {
		t.Fatal(err)
	}
	manifest, err := os.ReadFile(rec.Manifest)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{`"path":"a"`, `"path":"sub/b"`, `"path":"cachet"`} {
		if !strings.Contains(string(manifest), p) {
			t.Errorf("the manifest lacks %s:\n%s", p, manifest)
		}
	}
	for _, p := range []string{`"path":"cache/big"`, `"path":"sub/tmp/x"`} {
		if strings.Contains(string(manifest), p) {
			t.Errorf("exclude left %s in the archive", p)
		}
	}
	// A damaged archive is no backup: the check says so and a rerun makes another.
	good, err := os.ReadFile(archive)
	if err != nil {
		t.Fatal(err)
	}
	bad := append([]byte(nil), good...)
	for i := len(bad) / 2; i < len(bad)/2+16 && i < len(bad); i++ {
		bad[i] ^= 0xff
	}
	if err := os.WriteFile(archive, bad, 0o600); err != nil {
		t.Fatal(err)
	}
	if done, why := w.check("b"); done || !strings.Contains(why, "does not verify") {
		t.Fatalf("check with a corrupted archive: %v %q", done, why)
	}
	if err := os.WriteFile(archive, good, 0o600); err != nil {
		t.Fatal(err)
	}
	if done, why := w.check("b"); !done {
		t.Fatalf("check with the archive restored: %s", why)
	}
	w.undo("b", rcs)
	if _, err := os.Stat(archive); err != nil {
		t.Fatalf("the undo removed the archive: %v", err)
	}
	if done, _ := w.check("b"); done {
		t.Fatal("after the undo, a new run must archive again")
	}
}
