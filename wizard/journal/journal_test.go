package journal

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The helper process: when run with JOURNAL_HELPER set, the test binary acts as a
// second wizard process holding or writing a journal.
func TestMain(m *testing.M) {
	switch os.Getenv("JOURNAL_HELPER") {
	case "hold":
		j, err := Open(os.Getenv("JOURNAL_DIR"), Options{Run: "holder"})
		if err != nil {
			fmt.Println("open:", err)
			os.Exit(1)
		}
		fmt.Println("locked")
		time.Sleep(time.Minute)
		j.Close()
		os.Exit(0)
	case "write":
		j, err := Open(os.Getenv("JOURNAL_DIR"), Options{Run: "writer"})
		if err != nil {
			os.Exit(1)
		}
		for i := 0; ; i++ {
			if _, err := j.Append(Record{Kind: KindNote, Note: strings.Repeat("x", i%300)}); err != nil {
				os.Exit(1)
			}
			if i == 20 {
				fmt.Println("writing")
			}
		}
	case "full":
		os.Exit(fullDiskHelper(os.Getenv("JOURNAL_DIR")))
	case "open":
		_, err := Open(os.Getenv("JOURNAL_DIR"), Options{Run: "second"})
		var le *LockedError
		if errors.As(err, &le) {
			fmt.Println(err)
			os.Exit(4)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func helper(t *testing.T, mode, dir string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "JOURNAL_HELPER="+mode, "JOURNAL_DIR="+dir)
	return cmd
}

func appendN(t *testing.T, j *Journal, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		if _, err := j.Append(Record{Kind: KindNote, Step: "s", Note: strconv.Itoa(i)}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestAppendThenReopenReadsEveryRecordInOrder(t *testing.T) {
	dir := t.TempDir()
	j, err := Open(dir, Options{Run: "r1"})
	if err != nil {
		t.Fatal(err)
	}
	appendN(t, j, 5)
	j.Close()
	j, err = Open(dir, Options{Run: "r2"})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	recs := j.Records()
	if len(recs) != 5 {
		t.Fatalf("got %d records, want 5", len(recs))
	}
	for i, r := range recs {
		if r.Seq != int64(i+1) || r.Note != strconv.Itoa(i) || r.Run != "r1" || r.V != Version {
			t.Errorf("record %d = %+v", i, r)
		}
	}
	if j.Repaired() != "" {
		t.Errorf("intact journal reported a repair: %s", j.Repaired())
	}
	r, _ := j.Append(Record{Kind: KindNote})
	if r.Seq != 6 {
		t.Errorf("next seq = %d, want 6", r.Seq)
	}
}

func TestDamage(t *testing.T) {
	cases := []struct {
		name      string
		damage    func(b []byte) []byte
		wantCut   bool
		wantFatal string
	}{
		{"a torn last line without newline is cut back", func(b []byte) []byte { return b[:len(b)-7] }, true, ""},
		{"a last line with a bad CRC is cut back", func(b []byte) []byte { return flipInLine(b, 3) }, true, ""},
		{"damage in the middle is fatal and names the line", func(b []byte) []byte { return flipInLine(b, 1) }, false, "journal corrupt at line 2"},
		{"a missing record in the middle is fatal", func(b []byte) []byte { return dropLine(b, 1) }, false, "journal corrupt at line 2"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			j, err := Open(dir, Options{})
			if err != nil {
				t.Fatal(err)
			}
			appendN(t, j, 4)
			j.Close()
			path := filepath.Join(dir, FileName)
			b, _ := os.ReadFile(path)
			os.WriteFile(path, c.damage(b), 0o600)
			j, err = Open(dir, Options{})
			if c.wantFatal != "" {
				var ce *CorruptError
				if !errors.As(err, &ce) || !strings.Contains(err.Error(), c.wantFatal) {
					t.Fatalf("err = %v, want %q", err, c.wantFatal)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer j.Close()
			if got := len(j.Records()); got != 3 {
				t.Fatalf("kept %d records, want 3", got)
			}
			if j.Repaired() == "" {
				t.Error("no repair note")
			}
			if _, err := j.Append(Record{Kind: KindNote}); err != nil {
				t.Fatal(err)
			}
			j.Close()
			j2, err := Open(dir, Options{})
			if err != nil {
				t.Fatalf("reopen after repair: %v", err)
			}
			defer j2.Close()
			if n := len(j2.Records()); n != 4 || j2.Records()[3].Seq != 4 {
				t.Fatalf("after repair and append: %d records", n)
			}
		})
	}
}

func lines(b []byte) []string { return strings.SplitAfter(string(b), "\n") }

func flipInLine(b []byte, n int) []byte {
	ls := lines(b)
	l := []byte(ls[n])
	i := strings.Index(string(l), `"note":"`) + 8
	l[i] ^= 1
	ls[n] = string(l)
	return []byte(strings.Join(ls, ""))
}

func dropLine(b []byte, n int) []byte {
	ls := lines(b)
	return []byte(strings.Join(append(ls[:n:n], ls[n+1:]...), ""))
}

func TestSecondProcessIsRefusedWithTheHolderNamed(t *testing.T) {
	dir := t.TempDir()
	hold := helper(t, "hold", dir)
	out, _ := hold.StdoutPipe()
	if err := hold.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { hold.Process.Kill(); hold.Wait() }()
	buf := make([]byte, 16)
	if n, _ := out.Read(buf); !strings.Contains(string(buf[:n]), "locked") {
		t.Fatalf("holder did not lock: %q", buf[:n])
	}
	second := helper(t, "open", dir)
	msg, err := second.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 4 {
		t.Fatalf("second process: err %v, out %s; want exit 4", err, msg)
	}
	if !strings.Contains(string(msg), fmt.Sprintf("pid %d", hold.Process.Pid)) {
		t.Errorf("message does not name the holder pid %d: %s", hold.Process.Pid, msg)
	}
	if h, ok := LockHolder(dir); !ok || h.PID != hold.Process.Pid {
		t.Errorf("LockHolder = %+v, %v", h, ok)
	}
	// And in-process: the lock is per open file description, so a second Open fails too.
	if _, err := Open(dir, Options{}); err == nil {
		t.Fatal("second Open in the same process succeeded")
	}
}

func TestRecordsSurviveKill9OfTheWriter(t *testing.T) {
	dir := t.TempDir()
	w := helper(t, "write", dir)
	out, _ := w.StdoutPipe()
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 16)
	out.Read(buf)
	time.Sleep(30 * time.Millisecond)
	w.Process.Signal(syscall.SIGKILL)
	w.Wait()
	j, err := Open(dir, Options{})
	if err != nil {
		t.Fatalf("reopen after kill -9: %v", err)
	}
	defer j.Close()
	recs := j.Records()
	if len(recs) < 21 {
		t.Fatalf("only %d records survived", len(recs))
	}
	for i, r := range recs {
		if r.Seq != int64(i+1) {
			t.Fatalf("record %d has seq %d", i, r.Seq)
		}
	}
}

func TestReadWorksWhileAnotherProcessHoldsTheLock(t *testing.T) {
	dir := t.TempDir()
	j, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	appendN(t, j, 2)
	recs, err := Read(dir)
	if err != nil || len(recs) != 2 {
		t.Fatalf("Read = %d records, %v", len(recs), err)
	}
}
