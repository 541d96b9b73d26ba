// Package node runs commands and changes files on the host a runbook step acts
// on: the machine the wizard runs on (Local) or a node reached over SSH, where Go
// may not run (seed 002's HP-UX nodes) and only POSIX commands are assumed.
//
// The interface follows what github.com/pkg/sftp's Client offers for files, so
// an SSH node implements it over one connection (SFTP for files, a session per
// command), and Local implements it with package os.
package node

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"time"
)

// Node is one host a step acts on. Paths are the node's own absolute paths.
// Every method honours ctx; a method whose connection was lost while it ran
// returns an error wrapping ErrConnectionLost, never a plain failure, because
// the effect on the node is then unknown (the journal records it in doubt).
type Node interface {
	// Name is the node's name from the answers ("local" for the control host).
	Name() string
	// Run runs argv without a shell (a shell only when argv names one) and
	// returns its exit status and combined output. A non-zero exit is a Result,
	// not an error; errors are for a command that could not be started or
	// whose outcome is unknown.
	Run(ctx context.Context, c Command) (Result, error)

	ReadFile(ctx context.Context, path string) ([]byte, error)
	// WriteFile replaces path atomically on the node (a temporary file in the
	// same directory, then a rename) with data and perm.
	WriteFile(ctx context.Context, path string, data []byte, perm fs.FileMode) error
	// Lstat reports on path without following a final symlink; a missing path
	// gives an error for which errors.Is(err, fs.ErrNotExist) holds.
	Lstat(ctx context.Context, path string) (fs.FileInfo, error)
	// Owner returns the numeric owner of path (not following a final symlink).
	Owner(ctx context.Context, path string) (uid, gid int, err error)
	ReadLink(ctx context.Context, path string) (string, error)
	Symlink(ctx context.Context, target, path string) error
	Mkdir(ctx context.Context, path string, perm fs.FileMode) error
	Chmod(ctx context.Context, path string, perm fs.FileMode) error
	Chown(ctx context.Context, path string, uid, gid int) error
	Rename(ctx context.Context, from, to string) error
	// Remove removes a file, a symlink or an empty directory.
	Remove(ctx context.Context, path string) error

	Close() error
}

// Command is one command to run on a node.
type Command struct {
	Argv    []string
	Stdin   io.Reader     // nil: no input
	Env     []string      // KEY=VALUE pairs added to the node's environment
	Dir     string        // working directory on the node; "" leaves it as is
	Timeout time.Duration // 0: no limit beyond ctx
}

// Result is what a command left: the evidence a receipt journals.
type Result struct {
	Node     string        `json:"node"`
	Argv     []string      `json:"argv"`
	ExitCode int           `json:"exit_code"`
	Output   []byte        `json:"-"` // combined stdout and stderr
	Duration time.Duration `json:"duration_ns"`
}

// ErrConnectionLost marks an operation whose connection to the node broke
// before its outcome was known.
var ErrConnectionLost = errors.New("connection to the node lost; the outcome is unknown")
