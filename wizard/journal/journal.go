// Package journal is the wizard's write-ahead record: append-only JSON Lines, one
// record per event, each sealed with a CRC and made durable (fsync) before the
// action it announces runs.
//
// It is hand-written because no library gives exactly these semantics: a record is
// durable before Append returns, a torn last line (the writer was killed mid-write)
// is cut back to the last good record, damage anywhere else is fatal, and one
// process at a time holds the journal through flock(2).
package journal

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"mswizard/internal/atomicfile"
)

// Version is the record format version written into every record.
const Version = 1

// Kind says what a record announces.
type Kind string

const (
	KindPin         Kind = "pin"          // the inputs a run was started with
	KindRunStart    Kind = "run-start"    // a process started working on the journal
	KindSkipped     Kind = "skipped"      // a step's goal already held; nothing done
	KindFinding     Kind = "finding"      // a preflight finding
	KindWaived      Kind = "waived"       // an inhibitor waived by the answers file
	KindConfirmed   Kind = "confirmed"    // the operator confirmed a point of no return
	KindBegin       Kind = "begin"        // an action is about to run
	KindDone        Kind = "done"         // the action finished; receipt attached
	KindFailed      Kind = "failed"       // the action failed; error attached
	KindResolved    Kind = "resolved"     // an in-doubt action was decided
	KindStepDone    Kind = "step-done"    // every action of a step is done
	KindUndoBegin   Kind = "undo-begin"   // an undo action is about to run
	KindUndoDone    Kind = "undo-done"    // the undo action finished
	KindUndoFailed  Kind = "undo-failed"  // the undo action failed
	KindUndone      Kind = "undone"       // a step is fully undone
	KindBackoutDone Kind = "backout-done" // the backout finished: a new epoch starts
	KindRunEnd      Kind = "run-end"      // a process stopped working on the journal
	KindNote        Kind = "note"
)

// Record is one line of the journal.
type Record struct {
	V       int             `json:"v"`
	Seq     int64           `json:"seq"`
	Run     string          `json:"run"`
	Time    time.Time       `json:"time"`
	Kind    Kind            `json:"kind"`
	Step    string          `json:"step,omitempty"`
	Node    string          `json:"node,omitempty"` // the node the step acts on (runbooks across nodes)
	Action  int             `json:"action"`
	Summary string          `json:"summary,omitempty"`
	Receipt json.RawMessage `json:"receipt,omitempty"`
	Error   string          `json:"error,omitempty"`
	Note    string          `json:"note,omitempty"`
	// Decision is what the operator (or the evidence) decided, on confirmed,
	// waived and resolved records. Journals written before it existed said
	// it in Note; DecisionOf reads both.
	Decision *Decision `json:"decision,omitempty"`
	// Intent is what a begun action is about to do, written before its
	// effect (a begin record restated by the action once it knows): an
	// action killed mid-effect and resolved as done leaves no receipt, and
	// its undo reads this instead.
	Intent json.RawMessage `json:"intent,omitempty"`
}

// FileName is the journal's name inside a state directory.
const FileName = "journal.jsonl"

const lockName = "journal.lock"

// Journal is an open, locked journal.
type Journal struct {
	path    string
	f       *os.File
	lock    *os.File
	run     string
	now     func() time.Time
	records []Record
	repair  string
	size    int64 // bytes of good records: where the next append starts
}

// Holder describes the process that holds a journal's lock.
type Holder struct {
	PID   int       `json:"pid"`
	User  string    `json:"user"`
	Host  string    `json:"host"`
	Since time.Time `json:"since"`
	// StateDir is the holder's state directory, in the host-wide lock.
	StateDir string `json:"state_dir,omitempty"`
}

// LockedError reports that another process holds the journal, or (ServerRoot
// set) the host-wide lock of the server root a run works on.
type LockedError struct {
	Dir        string
	ServerRoot string
	Holder     Holder
}

func (e *LockedError) Error() string {
	if e.ServerRoot != "" {
		return fmt.Sprintf("server root %s is in use by the run of state directory %s: pid %d (user %s on %s, since %s); one run at a time works on a server root — wait for it to finish, or go on with that run (--state-dir %s)",
			e.ServerRoot, e.Holder.StateDir, e.Holder.PID, e.Holder.User, e.Holder.Host, e.Holder.Since.Format(time.RFC3339), e.Holder.StateDir)
	}
	if e.Holder.PID == 0 {
		// The holder has taken the lock and not yet written who it is.
		return fmt.Sprintf("state directory %s is in use by another process (it has not yet written who it is); wait for it to finish or stop it first", e.Dir)
	}
	return fmt.Sprintf("state directory %s is in use by pid %d (user %s on %s, since %s); wait for it to finish or stop it first",
		e.Dir, e.Holder.PID, e.Holder.User, e.Holder.Host, e.Holder.Since.Format(time.RFC3339))
}

// CorruptError reports damage that is not a torn last line.
type CorruptError struct {
	Path string
	Line int
	Why  string
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("journal corrupt at line %d of %s: %s; keep the file for support and do not edit it", e.Line, e.Path, e.Why)
}

// Options configure Open.
type Options struct {
	Run string           // this process's run id
	Now func() time.Time // clock; time.Now when nil
}

// Open locks and reads the journal in dir, creating both when absent. A torn last
// record is cut away (Repaired says so); any other damage returns *CorruptError.
func Open(dir string, o Options) (*Journal, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("journal: create state directory: %w", err)
	}
	lock, err := acquire(filepath.Join(dir, lockName), Holder{Since: o.Now()})
	if err != nil {
		var le *LockedError
		if errors.As(err, &le) {
			le.Dir = dir
		}
		return nil, err
	}
	j := &Journal{path: filepath.Join(dir, FileName), lock: lock, run: o.Run, now: o.Now}
	_, statErr := os.Stat(j.path)
	created := errors.Is(statErr, os.ErrNotExist)
	f, err := os.OpenFile(j.path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		lock.Close()
		return nil, fmt.Errorf("journal: open: %w", err)
	}
	j.f = f
	if created {
		if err := atomicfile.SyncDir(dir); err != nil {
			j.Close()
			return nil, err
		}
	}
	if err := j.load(); err != nil {
		j.Close()
		return nil, err
	}
	return j, nil
}

// Read reads the journal in dir without locking it, for status displays that must
// work while a run holds the lock. A torn tail is ignored, not repaired.
func Read(dir string) ([]Record, error) {
	path := filepath.Join(dir, FileName)
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	recs, _, _, err := parse(path, data)
	return recs, err
}

// acquire takes the flock on path and writes h, completed with this process's
// identity, into it. The content is only a message for the refused: the kernel's
// lock is the truth, so a holder killed with -9 leaves nothing to clean up.
func acquire(path string, h Holder) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("journal: lock: %w", err)
	}
	if err := flockSettled(f); err != nil {
		defer f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			var h Holder
			b, _ := io.ReadAll(f)
			_ = json.Unmarshal(b, &h)
			return nil, &LockedError{Holder: h}
		}
		return nil, fmt.Errorf("journal: lock %s: %w", path, err)
	}
	h.PID, h.Since = os.Getpid(), h.Since.UTC()
	if u, err := user.Current(); err == nil {
		h.User = u.Username
	}
	h.Host, _ = os.Hostname()
	b, _ := json.Marshal(h)
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt(b, 0)
		_ = f.Sync()
	}
	return f, nil
}

// lockSettle is how long a lock found held is tried again before the holder
// is reported. flock(2) locks belong to the open file description, and a child
// forked by another goroutine of the same process shares every descriptor
// until its exec closes them (O_CLOEXEC): a lock this process has just released
// can stay held for that moment. A real holder still holds it after the wait.
const lockSettle = time.Second

// flockSettled takes an exclusive flock on f without blocking, trying again
// for up to lockSettle while it is held.
func flockSettled(f *os.File) error {
	deadline := time.Now().Add(lockSettle)
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if !errors.Is(err, unix.EWOULDBLOCK) || time.Now().After(deadline) {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// HostLock is the host-wide lock of one server root: two runs with different
// state directories must never stop, archive or install on the same server root
// at once. It lives beside the server root, not inside it, so a restore that
// swaps the server root (or its contents) never swaps the lock away.
type HostLock struct{ f *os.File }

// HostLockPath is the host-wide lock file of serverRoot.
func HostLockPath(serverRoot string) string { return BesideServerRoot(serverRoot, "lock") }

// BesideServerRoot is the path of the wizard's file of the given kind beside
// serverRoot (.ROOT.mswizard.KIND in its parent directory). A server root
// named through a symbolic link is resolved first, so two runs naming the same
// tree by different paths share the file.
func BesideServerRoot(serverRoot, kind string) string {
	root := filepath.Clean(serverRoot)
	if r, err := filepath.EvalSymlinks(root); err == nil {
		root = r
	}
	return filepath.Join(filepath.Dir(root), "."+filepath.Base(root)+".mswizard."+kind)
}

// LockServerRoot takes the host-wide lock of serverRoot for the run whose state
// directory is stateDir; held by another run, it returns *LockedError naming the
// holder (pid, user, host, since, its state directory).
func LockServerRoot(serverRoot, stateDir string, now time.Time) (*HostLock, error) {
	path := HostLockPath(serverRoot)
	f, err := acquire(path, Holder{Since: now, StateDir: stateDir})
	if err != nil {
		var le *LockedError
		if errors.As(err, &le) {
			le.ServerRoot = serverRoot
		}
		return nil, err
	}
	return &HostLock{f: f}, nil
}

// Close releases the host-wide lock.
func (l *HostLock) Close() error {
	if l == nil || l.f == nil {
		return nil
	}
	_ = l.f.Truncate(0)
	return l.f.Close()
}

// Holder reads who holds the lock of the journal in dir, if anyone does.
func LockHolder(dir string) (Holder, bool) {
	path := filepath.Join(dir, lockName)
	f, err := os.Open(path)
	if err != nil {
		return Holder{}, false
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_SH|unix.LOCK_NB); err == nil {
		_ = unix.Flock(int(f.Fd()), unix.LOCK_UN)
		return Holder{}, false
	}
	var h Holder
	b, _ := io.ReadAll(f)
	_ = json.Unmarshal(b, &h)
	return h, true
}

func (j *Journal) load() error {
	data, err := io.ReadAll(j.f)
	if err != nil {
		return fmt.Errorf("journal: read: %w", err)
	}
	recs, good, why, err := parse(j.path, data)
	if err != nil {
		return err
	}
	if good < int64(len(data)) {
		// The last record was torn: the writer died mid-line. Cut it back so the
		// next append starts on a record boundary.
		if err := j.f.Truncate(good); err != nil {
			return fmt.Errorf("journal: repair torn tail: %w", err)
		}
		if err := j.f.Sync(); err != nil {
			return fmt.Errorf("journal: repair torn tail: %w", err)
		}
		j.repair = fmt.Sprintf("cut a torn last record (%d bytes: %s) back to the last good record", int64(len(data))-good, why)
	}
	if _, err := j.f.Seek(good, io.SeekStart); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	j.size = good
	j.records = recs
	return nil
}

// parse returns the good records, the byte length they span, and why a torn tail
// (if any) was rejected.
func parse(path string, data []byte) ([]Record, int64, string, error) {
	var recs []Record
	var off int64
	line := 0
	for len(data) > 0 {
		line++
		i := bytes.IndexByte(data, '\n')
		last := i < 0
		var raw []byte
		if last {
			raw = data
		} else {
			raw = data[:i]
		}
		rec, err := decode(raw)
		var ve *versionError
		if errors.As(err, &ve) {
			// A sealed record of another format version is not a torn write:
			// cutting it would destroy what a newer wizard wrote. Refused
			// wherever it stands.
			return nil, 0, "", &CorruptError{Path: path, Line: line, Why: err.Error() + "; run the wizard version that wrote it"}
		}
		if err != nil || last {
			rest := data
			if !last {
				rest = data[i+1:]
			}
			if last || len(bytes.TrimSpace(rest)) == 0 {
				why := "no newline"
				if err != nil {
					why = err.Error()
				}
				return recs, off, why, nil
			}
			return nil, 0, "", &CorruptError{Path: path, Line: line, Why: err.Error()}
		}
		if n := len(recs); n > 0 && rec.Seq != recs[n-1].Seq+1 {
			return nil, 0, "", &CorruptError{Path: path, Line: line, Why: fmt.Sprintf("sequence %d follows %d", rec.Seq, recs[n-1].Seq)}
		}
		recs = append(recs, rec)
		off += int64(len(raw)) + 1
		data = data[i+1:]
	}
	return recs, off, "", nil
}

const crcField = `,"crc":"`

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func encode(r Record) ([]byte, error) {
	b, err := json.Marshal(r)
	if err != nil {
		return nil, err
	}
	body := b[:len(b)-1] // drop the closing brace; the CRC seals everything before it
	sum := crc32.Checksum(body, castagnoli)
	out := make([]byte, 0, len(body)+24)
	out = append(out, body...)
	out = append(out, crcField...)
	out = append(out, fmt.Sprintf("%08x", sum)...)
	out = append(out, "\"}\n"...)
	return out, nil
}

// versionError is a record whose CRC holds but whose format version this
// wizard does not read.
type versionError struct{ have int }

func (e *versionError) Error() string {
	return fmt.Sprintf("record version %d, this wizard reads %d", e.have, Version)
}

func decode(line []byte) (Record, error) {
	var r Record
	i := bytes.LastIndex(line, []byte(crcField))
	if i < 0 || !bytes.HasSuffix(line, []byte(`"}`)) || len(line)-i != len(crcField)+10 {
		return r, errors.New("record has no CRC")
	}
	want, err := strconv.ParseUint(string(line[i+len(crcField):len(line)-2]), 16, 32)
	if err != nil {
		return r, errors.New("record has a malformed CRC")
	}
	if got := crc32.Checksum(line[:i], castagnoli); uint32(want) != got {
		return r, fmt.Errorf("CRC mismatch (want %08x, have %08x)", want, got)
	}
	body := append(append([]byte{}, line[:i]...), '}')
	if err := json.Unmarshal(body, &r); err != nil {
		return r, fmt.Errorf("record is not JSON: %w", err)
	}
	if r.V != Version {
		return r, &versionError{have: r.V}
	}
	return r, nil
}

// Append seals r (version, sequence, run id, time) and makes it durable before it
// returns.
func (j *Journal) Append(r Record) (Record, error) {
	r.V = Version
	r.Seq = int64(len(j.records)) + 1
	if len(j.records) > 0 {
		r.Seq = j.records[len(j.records)-1].Seq + 1
	}
	if r.Run == "" {
		r.Run = j.run
	}
	if r.Time.IsZero() {
		r.Time = j.now().UTC()
	}
	b, err := encode(r)
	if err != nil {
		return r, fmt.Errorf("journal: encode %s record: %w", r.Kind, err)
	}
	if _, err := j.f.Write(b); err != nil {
		return r, j.takeBack(fmt.Errorf("journal: append %s record: %w", r.Kind, err))
	}
	if err := j.f.Sync(); err != nil {
		return r, j.takeBack(fmt.Errorf("journal: fsync: %w", err))
	}
	j.size += int64(len(b))
	j.records = append(j.records, r)
	return r, nil
}

// takeBack cuts a failed append (a full disk writes part of a record) back to the
// last good record, so a later append does not land after a fragment, which would
// read as damage in the middle of the journal or swallow the later record.
func (j *Journal) takeBack(err error) error {
	terr := j.f.Truncate(j.size)
	if terr == nil {
		_, terr = j.f.Seek(j.size, io.SeekStart)
	}
	if terr != nil {
		return errors.Join(err, fmt.Errorf("journal: cut the failed record back: %w", terr))
	}
	return err
}

// Records returns every record read or appended, oldest first.
func (j *Journal) Records() []Record { return j.records }

// Repaired says what Open repaired, or "" when the journal was intact.
func (j *Journal) Repaired() string { return j.repair }

// Path is the journal file's path.
func (j *Journal) Path() string { return j.path }

// Close releases the journal and its lock.
func (j *Journal) Close() error {
	var errs []error
	if j.f != nil {
		errs = append(errs, j.f.Close())
	}
	if j.lock != nil {
		_ = j.lock.Truncate(0)
		errs = append(errs, j.lock.Close())
	}
	return errors.Join(errs...)
}

// Describe renders a record as one human line, for status output.
func Describe(r Record) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %-12s", r.Time.Format("2006-01-02 15:04:05"), r.Kind)
	if r.Step != "" {
		fmt.Fprintf(&b, " %s", r.Step)
		if r.Kind == KindBegin || r.Kind == KindDone || r.Kind == KindFailed || r.Kind == KindUndoBegin || r.Kind == KindUndoDone {
			fmt.Fprintf(&b, "[%d]", r.Action)
		}
	}
	if r.Summary != "" {
		fmt.Fprintf(&b, " %s", r.Summary)
	}
	if r.Error != "" {
		fmt.Fprintf(&b, " — %s", r.Error)
	}
	if r.Decision != nil {
		fmt.Fprintf(&b, " {%s}", r.Decision)
	}
	if len(r.Intent) > 0 {
		b.WriteString(" (intent recorded)")
	}
	if r.Note != "" {
		fmt.Fprintf(&b, " (%s)", r.Note)
	}
	return b.String()
}
