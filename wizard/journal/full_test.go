package journal

import (
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// fullDiskHelper runs in a helper process: it appends a record, then one that
// the file-size limit cuts off half-way (as a full disk would), then — the space
// back — one more, as a run that goes on after a failed append (its run-end
// record) does.
func fullDiskHelper(dir string) int {
	signal.Ignore(syscall.SIGXFSZ) // a write past the limit fails with EFBIG instead
	j, err := Open(dir, Options{Run: "full"})
	if err != nil {
		fmt.Println("open:", err)
		return 1
	}
	defer j.Close()
	if _, err := j.Append(Record{Kind: KindNote, Note: "first"}); err != nil {
		fmt.Println("first:", err)
		return 1
	}
	fi, err := os.Stat(filepath.Join(dir, FileName))
	if err != nil {
		fmt.Println(err)
		return 1
	}
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
		fmt.Println(err)
		return 1
	}
	lim := old
	lim.Cur = uint64(fi.Size()) + 40
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &lim); err != nil {
		fmt.Println(err)
		return 1
	}
	if _, err := j.Append(Record{Kind: KindNote, Note: strings.Repeat("x", 500)}); err == nil {
		fmt.Println("the cut-off append reported no error")
		return 1
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
		fmt.Println(err)
		return 1
	}
	if _, err := j.Append(Record{Kind: KindNote, Note: "after"}); err != nil {
		fmt.Println("after:", err)
		return 1
	}
	return 0
}

// An append that a full disk cuts off half-way is taken back to the last good
// record at once: the records appended after it (once there is room again) do not
// turn the fragment into damage in the middle of the journal, which would make
// it unreadable ("journal corrupt") and the run impossible to resume or back out.
func TestAFailedAppendLeavesNoFragmentBehind(t *testing.T) {
	dir := t.TempDir()
	if out, err := helper(t, "full", dir).CombinedOutput(); err != nil {
		t.Fatalf("helper: %v\n%s", err, out)
	}
	j, err := Open(dir, Options{})
	if err != nil {
		t.Fatalf("reopen after a failed append: %v", err)
	}
	defer j.Close()
	var notes []string
	for _, r := range j.Records() {
		notes = append(notes, r.Note)
	}
	if got := strings.Join(notes, ","); got != "first,after" {
		t.Fatalf("records = %s, want first,after", got)
	}
}
