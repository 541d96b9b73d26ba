package backup

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ManifestVersion is the version written in every manifest's first line.
const ManifestVersion = 1

// EntryType names the kind of a tree entry as recorded in the manifest.
type EntryType string

// Entry types. Sockets and device nodes are never archived: a socket is
// recreated by the daemon that listens on it, and a Messaging Server root holds
// no device nodes; they are listed in the manifest with Skipped set so the
// operator sees them. FIFOs are archived and restored (mkfifo), as GNU tar does.
const (
	TypeDir      EntryType = "dir"
	TypeFile     EntryType = "file"
	TypeSymlink  EntryType = "symlink"
	TypeHardlink EntryType = "hardlink" // a later name of an already archived file
	TypeFIFO     EntryType = "fifo"
	TypeSocket   EntryType = "socket" // skipped
	TypeDevice   EntryType = "device" // skipped
)

// Perm holds the permission bits plus setuid, setgid and sticky (07777) as
// in st_mode; it reads and writes as a four-digit octal string in JSON.
type Perm uint32

// String returns the mode as four octal digits, e.g. "4755".
func (p Perm) String() string { return fmt.Sprintf("%04o", uint32(p)) }

// MarshalJSON writes the mode as an octal string.
func (p Perm) MarshalJSON() ([]byte, error) { return []byte(`"` + p.String() + `"`), nil }

// UnmarshalJSON reads an octal string.
func (p *Perm) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("mode: %w", err)
	}
	v, err := strconv.ParseUint(s, 8, 32)
	if err != nil || v > 07777 {
		return fmt.Errorf("mode %q: not an octal mode", s)
	}
	*p = Perm(v)
	return nil
}

// Entry is one line of the manifest: one name in the archived tree, in
// archive order. Path is relative with '/' separators; the root is ".".
type Entry struct {
	Path    string    `json:"path"`
	Type    EntryType `json:"type"`
	Size    int64     `json:"size"`
	Mode    Perm      `json:"mode"`
	UID     int       `json:"uid"`
	GID     int       `json:"gid"`
	MtimeNS int64     `json:"mtime_ns"`
	SHA256  string    `json:"sha256,omitempty"` // files and hardlinks
	Link    string    `json:"link,omitempty"`   // symlink target, or first name of a hardlink
	Skipped string    `json:"skipped,omitempty"`

	// PathB64 and LinkB64 carry Path and Link as base64 of their raw bytes when
	// they are not UTF-8 (a Latin-1 name in a 5.x server root): JSON strings
	// cannot hold such bytes, and encoding/json would replace them. Path and
	// Link then hold a readable rendering; readers see only the raw bytes.
	PathB64 string `json:"path_b64,omitempty"`
	LinkB64 string `json:"link_b64,omitempty"`
}

// ManifestHeader is the manifest's first line.
type ManifestHeader struct {
	Version  int      `json:"version"`
	Archive  string   `json:"archive"` // base name of the archive
	Source   string   `json:"source"`
	Excluded []string `json:"excluded,omitempty"`
	Policy   string   `json:"policy"`
}

// ManifestTrailer is the manifest's last line; a manifest without it is
// incomplete.
type ManifestTrailer struct {
	Entries int64 `json:"entries"` // entries in the archive (skipped ones excluded)
	Files   int64 `json:"files"`   // regular files (hardlinks excluded)
	Bytes   int64 `json:"bytes"`   // regular file bytes
	Skipped int64 `json:"skipped"`
}

const policyText = "fifo: archived and restored; socket, device: not archived, listed with skipped; hardlink: second name archived as a tar hardlink"

type manifestLine struct {
	Entry
	Manifest *ManifestHeader  `json:"manifest,omitempty"`
	End      *ManifestTrailer `json:"end,omitempty"`
}

// ManifestPath returns the manifest path that belongs to an archive path:
// NAME.tar.zst -> NAME.manifest.jsonl.
func ManifestPath(archivePath string) string {
	return strings.TrimSuffix(archivePath, ArchiveSuffix) + ManifestSuffix
}

// File name suffixes of the archive and its manifest.
const (
	ArchiveSuffix  = ".tar.zst"
	ManifestSuffix = ".manifest.jsonl"
)

// manifestWriter writes JSON Lines and hashes what it writes.
type manifestWriter struct {
	f   destFile
	bw  *bufio.Writer
	sum hash.Hash
}

func newManifestWriter(f destFile) *manifestWriter {
	h := sha256.New()
	return &manifestWriter{f: f, sum: h, bw: bufio.NewWriterSize(io.MultiWriter(f, h), 64<<10)}
}

func (m *manifestWriter) line(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	b = append(b, '\n')
	_, err = m.bw.Write(b)
	return err
}

func (m *manifestWriter) header(h ManifestHeader) error {
	return m.line(struct {
		M ManifestHeader `json:"manifest"`
	}{h})
}

func (m *manifestWriter) entry(e Entry) error {
	if !utf8.ValidString(e.Path) {
		e.PathB64, e.Path = base64.StdEncoding.EncodeToString([]byte(e.Path)), strings.ToValidUTF8(e.Path, "?")
	}
	if !utf8.ValidString(e.Link) {
		e.LinkB64, e.Link = base64.StdEncoding.EncodeToString([]byte(e.Link)), strings.ToValidUTF8(e.Link, "?")
	}
	return m.line(e)
}

// rawNames puts the raw bytes of a non-UTF-8 path or link back (entry).
func rawNames(e *Entry) error {
	if e.PathB64 != "" {
		b, err := base64.StdEncoding.DecodeString(e.PathB64)
		if err != nil {
			return fmt.Errorf("path_b64: %w", err)
		}
		e.Path, e.PathB64 = string(b), ""
	}
	if e.LinkB64 != "" {
		b, err := base64.StdEncoding.DecodeString(e.LinkB64)
		if err != nil {
			return fmt.Errorf("link_b64: %w", err)
		}
		e.Link, e.LinkB64 = string(b), ""
	}
	return nil
}

func (m *manifestWriter) trailer(t ManifestTrailer) error {
	return m.line(struct {
		E ManifestTrailer `json:"end"`
	}{t})
}

// finish flushes and fsyncs; it returns the hex sha256 of all bytes written.
func (m *manifestWriter) finish() (string, error) {
	if err := m.bw.Flush(); err != nil {
		return "", err
	}
	if err := m.f.Sync(); err != nil {
		return "", err
	}
	return hex.EncodeToString(m.sum.Sum(nil)), nil
}

// ManifestReader reads a manifest one entry at a time; it never holds the
// whole list in memory.
type ManifestReader struct {
	f      *os.File
	sc     *bufio.Scanner
	Header ManifestHeader
	line   int
	end    *ManifestTrailer
}

// OpenManifest opens a manifest and reads its header line.
func OpenManifest(path string) (*ManifestReader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	r := &ManifestReader{f: f, sc: sc}
	l, err := r.scan()
	if err == nil && l.Manifest == nil {
		err = errors.New("first line is not a manifest header")
	}
	if err == nil && l.Manifest.Version != ManifestVersion {
		err = fmt.Errorf("version %d not supported", l.Manifest.Version)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("manifest %s: %w", path, err)
	}
	r.Header = *l.Manifest
	return r, nil
}

func (r *ManifestReader) scan() (manifestLine, error) {
	var l manifestLine
	if !r.sc.Scan() {
		if err := r.sc.Err(); err != nil {
			return l, fmt.Errorf("line %d: %w", r.line+1, err)
		}
		return l, io.ErrUnexpectedEOF
	}
	r.line++
	if err := parseEntryLine(r.sc.Bytes(), &l.Entry); err == nil {
		return l, nil
	}
	l = manifestLine{}
	if err := json.Unmarshal(r.sc.Bytes(), &l); err != nil {
		return l, fmt.Errorf("line %d: %w", r.line, err)
	}
	return l, nil
}

// Next returns the next entry, or io.EOF after the trailer line. A manifest
// that ends without its trailer returns io.ErrUnexpectedEOF.
func (r *ManifestReader) Next() (Entry, error) {
	if r.end != nil {
		return Entry{}, io.EOF
	}
	l, err := r.scan()
	if err != nil {
		return Entry{}, err
	}
	if l.End != nil {
		r.end = l.End
		if r.sc.Scan() {
			return Entry{}, fmt.Errorf("line %d: data after the trailer", r.line+1)
		}
		return Entry{}, io.EOF
	}
	if l.Manifest != nil || l.Path == "" || l.Type == "" {
		return Entry{}, fmt.Errorf("line %d: not an entry", r.line)
	}
	if err := rawNames(&l.Entry); err != nil {
		return Entry{}, fmt.Errorf("line %d: %w", r.line, err)
	}
	return l.Entry, nil
}

// Trailer returns the trailer once Next has returned io.EOF.
func (r *ManifestReader) Trailer() (ManifestTrailer, bool) {
	if r.end == nil {
		return ManifestTrailer{}, false
	}
	return *r.end, true
}

// Close closes the file.
func (r *ManifestReader) Close() error { return r.f.Close() }

// readTrailer reads only the last line of a manifest, for progress totals.
func readTrailer(path string) (ManifestTrailer, error) {
	f, err := os.Open(path)
	if err != nil {
		return ManifestTrailer{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return ManifestTrailer{}, err
	}
	off := max(fi.Size()-4096, 0)
	buf := make([]byte, fi.Size()-off)
	if _, err := f.ReadAt(buf, off); err != nil && err != io.EOF {
		return ManifestTrailer{}, err
	}
	buf = bytes.TrimRight(buf, "\n")
	if i := bytes.LastIndexByte(buf, '\n'); i >= 0 {
		buf = buf[i+1:]
	}
	var l manifestLine
	if err := json.Unmarshal(buf, &l); err != nil || l.End == nil {
		return ManifestTrailer{}, errors.New("manifest has no trailer")
	}
	return *l.End, nil
}
