// Package runbook reads runbooks written as data — an operator's procedure as an
// ordered list of commands, file edits, files, service changes, waits, backups and
// confirmations, each with a check, a plan line, an action and an exact undo — and
// turns them into wizard.Steps, run by the same engine, journal and faces as the
// Messaging Server upgrade.
//
// The format is YAML (go.yaml.in/yaml/v3), read through yaml.Node so that every
// unknown key, type error, missing field and bad reference of a file is reported at
// once as FILE:LINE: message, with "did you mean" where a near name exists. The
// README's "Runbooks as data" section documents it with the shipped
// qmail-daemontools runbook as its example.
package runbook

import (
	"strings"
	"time"
)

// Runbook is a parsed, validated runbook file.
type Runbook struct {
	ID          string
	Title       string
	Description string
	File        string // the name errors carry
	Sum         string // sha256 of the file's bytes: a changed runbook is a changed input
	Answers     []*AnswerSpec
	Preflight   []*CheckSpec
	Steps       []*StepSpec
}

// DescriptionLines is the runbook's description word-wrapped to width
// columns (runbook list, the answers template); none when it has none.
func (rb *Runbook) DescriptionLines(width int) []string {
	var out []string
	line := ""
	for _, w := range strings.Fields(rb.Description) {
		if line != "" && len(line)+1+len(w) > width {
			out, line = append(out, line), ""
		}
		if line != "" {
			line += " "
		}
		line += w
	}
	if line != "" {
		out = append(out, line)
	}
	return out
}

// Answer types.
const (
	TypeString   = "string"
	TypeInt      = "int"
	TypeBool     = "bool"
	TypePath     = "path"
	TypeUser     = "user"
	TypeGroup    = "group"
	TypePort     = "port"
	TypeDuration = "duration"
	TypeChoice   = "choice"
	TypeSecret   = "secret"
)

var answerTypes = []string{TypeString, TypeInt, TypeBool, TypePath, TypeUser, TypeGroup, TypePort, TypeDuration, TypeChoice, TypeSecret}

// AnswerSpec declares one answer the runbook needs.
type AnswerSpec struct {
	Name       string
	Type       string
	Help       string
	Default    string
	HasDefault bool
	Min, Max   *int64
	Choices    []string
	Line       int
}

// Cond is a read-only condition on the host: exactly one of Command, Path,
// Grep, Port, Svstat, or a list of alternatives (Any).
type Cond struct {
	Line    int
	Command []string // argv; holds when the exit code is one of Exit (default 0)
	Exit    []int
	Output  string // and, when set, the output contains it
	Path    string // holds when the path exists (not following a final symlink)
	Grep    *Grep  // holds when a line of the file matches the pattern
	Port    string // holds when host:port accepts a TCP connection
	Svstat  string // holds when svstat says the daemontools service is up ...
	UpFor   time.Duration
	UpForT  string  // up_for as written: a duration or an answer reference
	Any     []*Cond // holds when any alternative holds
	Not     bool    // negates the whole condition
	Timeout time.Duration
}

// Grep is a file and a regular expression (RE2) one of its lines must match.
type Grep struct{ Path, Pattern string }

// CheckSpec is one preflight check: when its condition does not hold, the
// finding is reported.
type CheckSpec struct {
	ID       string // finding ID, e.g. PRE-QMAIL-001
	Severity string // inhibitor (default) or warning
	Message  string
	Fix      string
	Cond     *Cond
	Line     int
}

// Step kinds.
const (
	KindRun     = "run"
	KindEdit    = "edit"
	KindFile    = "file"
	KindService = "service"
	KindWait    = "wait"
	KindBackup  = "backup"
	KindConfirm = "confirm"
)

var stepKinds = []string{KindRun, KindEdit, KindFile, KindService, KindWait, KindBackup, KindConfirm}

// StepSpec is one step as written. Exactly one kind's block is set.
type StepSpec struct {
	ID    string
	Title string
	// Node is where the step acts: "local" (the control host), a node the
	// answers' [Nodes] section names, or "each": every node there, in order
	// (the step is then one step per node, its id suffixed /NODE).
	Node string
	// When, if set, is a condition on the answers; the step is left out of
	// the run when it is false (seed 002's (M) steps). Clauses joined by
	// " and ": NAME (a bool true, or a non-empty value), "not NAME",
	// "NAME == VALUE", "NAME != VALUE".
	When     string
	WhenLine int
	Optional bool
	Kind     string
	Line     int

	Run     *RunSpec
	Edit    *EditSpec
	File    *FileSpec
	Service *ServiceSpec
	Wait    *WaitSpec
	Backup  *BackupSpec
	Confirm *ConfirmSpec
}

// RunSpec runs a command (argv, never through a shell unless argv names one).
type RunSpec struct {
	Argv       []string
	Check      *Cond // the goal already holds: the command is not run
	Undo       []string
	Exit       []int // expected exit codes (default 0)
	Timeout    time.Duration
	Stdin      string // may hold secrets
	Env        map[string]string
	EnvOrder   []string
	Dir        string
	Idempotent bool // may be repeated after a crash left it in doubt
}

// Edit states.
const (
	StatePresent     = "present"
	StateAbsent      = "absent"
	StateCommented   = "commented"
	StateUncommented = "uncommented"
)

// EditSpec makes a line, or a KEY=VALUE record, present, absent, commented or
// uncommented in a file. The original is kept for the exact undo.
type EditSpec struct {
	Path     string
	Line     string // line mode
	Replaces string // present: put Line in place of this line; not found is an error
	// Append, with Replaces: when the replaced line is not found, uncomment a
	// commented Line or append it instead of failing.
	Append    bool
	Key       string // record mode
	Value     string
	Separator string // default "="
	State     string
	Comment   string // default "#"
}

// File states.
const (
	FileFile      = "file"
	FileDirectory = "directory"
	FileSymlink   = "symlink"
	FileAbsent    = "absent"
)

// FileSpec writes a file from a template or a copy, makes a directory or a
// symlink, removes a path, and sets mode and owner. Undo restores what was
// there, including nothing.
type FileSpec struct {
	Path    string
	State   string
	Content string // may hold secrets
	HasBody bool
	Copy    string
	Target  string
	Mode    *uint32
	Owner   string
	Group   string
	// UndoContents says what the undo of a directory this step created does
	// with what others put in it meanwhile: "refuse" (default), "remove", "keep".
	UndoContents string
}

// Service regimes and states.
const (
	RegimeRC          = "rc"
	RegimeDaemontools = "daemontools"
	SvcStarted        = "started"
	SvcStopped        = "stopped"
	SvcSupervised     = "supervised"
	SvcUp             = "up"
	SvcDown           = "down"
)

// ServiceSpec stops or starts a service through a regime: an LSB-style rc
// script ("SCRIPT start|stop|status"), or daemontools (svc, svstat, svok).
type ServiceSpec struct {
	Regime  string
	State   string
	Script  string // rc
	Dir     string // daemontools: the service's entry in the scan directory
	Source  string // daemontools, supervised: the service directory linked there
	Log     bool   // daemontools: the service has a log/ service (default true)
	Timeout time.Duration
}

// WaitSpec polls a condition until it holds (for Stable without a break).
type WaitSpec struct {
	Until    *Cond
	Timeout  time.Duration
	Interval time.Duration
	Stable   time.Duration
}

// BackupSpec archives a directory with package backup and verifies it.
type BackupSpec struct {
	Path    string
	Dest    string
	Name    string
	Exclude []string
}

// ConfirmSpec is an operator action the wizard cannot do itself.
type ConfirmSpec struct {
	Text string
}
