package wizard

import (
	"bytes"
	"context"
	"testing"
)

// A child's output must not hang on a pipe to the wizard: were the wizard
// killed, the next line an installer writes would kill it with SIGPIPE,
// half-way. Output still reaches the live writer and the receipt's tail.
func TestOSExecerChildOutputIsNotAPipeAndIsFollowed(t *testing.T) {
	var live bytes.Buffer
	res, err := OSExecer{}.Run(context.Background(), Command{Path: "/bin/sh", Args: []string{"-c",
		`if test -p /dev/stdout; then echo pipe; else echo file; fi; sleep 0.2; echo done >&2`}, Output: &live})
	if err != nil {
		t.Fatal(err)
	}
	if got := live.String(); got != "file\ndone\n" {
		t.Fatalf("live output %q, want the child writing to a file and both lines followed", got)
	}
	if res.Tail != "file\ndone\n" {
		t.Fatalf("tail %q", res.Tail)
	}
}
