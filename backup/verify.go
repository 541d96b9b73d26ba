package backup

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"

	"github.com/mholt/archives"
)

// VerifyError names the first entry where an archive, a manifest or a
// restored tree disagree. Commands map it to exit status 5.
type VerifyError struct {
	Entry  string // relative path as in the manifest; "" when not tied to one entry
	Reason string
}

func (e *VerifyError) Error() string {
	if e.Entry == "" {
		return "verify: " + e.Reason
	}
	return fmt.Sprintf("verify: entry %q: %s", e.Entry, e.Reason)
}

// Verify re-reads the archive and compares it with its manifest, in order:
// the entry count, every name, type, size, mode, uid, gid, mtime, link target
// and sha256. It returns a *VerifyError naming the first bad entry, or another
// error when a file cannot be opened. A tar cut at an entry boundary reads as
// a shorter valid stream; only the manifest's count and trailer catch it.
func Verify(ctx context.Context, archivePath, manifestPath string, progress func(Progress)) error {
	h := sha256.New()
	buf := make([]byte, 1<<20)
	return readArchive(ctx, archivePath, manifestPath, "verify", progress,
		func(_ context.Context, hdr *tar.Header, want Entry, data io.Reader) (string, error) {
			if hdr.Typeflag != tar.TypeReg {
				return "", nil
			}
			return hashCopy(io.Discard, data, h, buf)
		})
}

// hashCopy copies r to w, hashing the bytes; it returns the hex sha256.
func hashCopy(w io.Writer, r io.Reader, h hash.Hash, buf []byte) (string, error) {
	sum, _, err := hashCopyN(w, r, h, buf)
	return sum, err
}

// memData is file data already read into memory.
type memData []byte

func (m memData) Read([]byte) (int, error) { return 0, io.EOF }

// hashCopyN is hashCopy that also returns the byte count.
func hashCopyN(w io.Writer, r io.Reader, h hash.Hash, buf []byte) (string, int64, error) {
	h.Reset()
	if m, ok := r.(memData); ok { // already in memory: no copy through buf
		h.Write(m)
		if _, err := w.Write(m); err != nil {
			return "", 0, err
		}
		return hex.EncodeToString(h.Sum(nil)), int64(len(m)), nil
	}
	var total int64
	for {
		n, err := r.Read(buf)
		if n > 0 {
			h.Write(buf[:n])
			if _, werr := w.Write(buf[:n]); werr != nil {
				return "", total, werr
			}
			total += int64(n)
		}
		if err == io.EOF {
			return hex.EncodeToString(h.Sum(nil)), total, nil
		}
		if err != nil {
			return "", total, err
		}
	}
}

// entryVisitor consumes one archive entry that already matched its manifest
// entry by metadata; for regular files it returns the sha256 of the data.
type entryVisitor func(ctx context.Context, hdr *tar.Header, want Entry, data io.Reader) (string, error)

// asyncSum is what a visitor returns when it checks the sha256 itself later.
const asyncSum = "async"

// errVisit marks errors from a visitor so they pass through unchanged.
type errVisit struct{ err error }

func (e errVisit) Error() string { return e.err.Error() }
func (e errVisit) Unwrap() error { return e.err }

// readArchive walks the archive in lockstep with its manifest through
// archives.CompressedArchive (Tar extraction over FramedZstd, which reads any
// zstd stream), checking each entry before handing it to visit.
func readArchive(ctx context.Context, archivePath, manifestPath, phase string, progress func(Progress), visit entryVisitor) error {
	mr, err := OpenManifest(manifestPath)
	if err != nil {
		return fmt.Errorf("%s: %w", phase, err)
	}
	defer mr.Close()
	total, _ := readTrailer(manifestPath)
	af, err := os.Open(archivePath)
	if err != nil {
		return fmt.Errorf("%s: %w", phase, err)
	}
	defer af.Close()

	var tailErr error
	format := archives.CompressedArchive{Compression: drainingZstd{FramedZstd: FramedZstd{skipChecksum: phase == "restore"}, errp: &tailErr}, Extraction: archives.Tar{}}
	var (
		last           string
		entries, files int64
		bytes          int64
	)
	next := func() (Entry, error) {
		for {
			e, err := mr.Next()
			if err != nil || e.Skipped == "" {
				return e, err
			}
		}
	}
	err = format.Extract(ctx, af, func(ctx context.Context, fi archives.FileInfo) error {
		hdr, ok := fi.Header.(*tar.Header)
		if !ok {
			return &VerifyError{Entry: fi.NameInArchive, Reason: "not a tar entry"}
		}
		want, err := next()
		if err == io.EOF {
			return &VerifyError{Entry: hdr.Name, Reason: "in the archive but not in the manifest"}
		}
		if err != nil {
			return fmt.Errorf("%s: manifest %s: %w", phase, manifestPath, err)
		}
		last = want.Path
		if reason := compareHeader(hdr, want); reason != "" {
			return &VerifyError{Entry: want.Path, Reason: reason}
		}
		var r io.Reader = eofReader{}
		if hdr.Typeflag == tar.TypeReg {
			f, err := fi.Open()
			if err != nil {
				return err
			}
			defer f.Close()
			r = readSide{f}
		}
		sum, err := visit(ctx, hdr, want, r)
		if err != nil {
			var ve *VerifyError
			if errors.As(err, &ve) {
				return err
			}
			if isReadError(err) {
				return &VerifyError{Entry: want.Path, Reason: "archive data unreadable: " + err.Error()}
			}
			return errVisit{err}
		}
		if hdr.Typeflag == tar.TypeReg && sum != asyncSum && sum != want.SHA256 {
			return &VerifyError{Entry: want.Path, Reason: fmt.Sprintf("sha256 %s, manifest says %s", sum, want.SHA256)}
		}
		entries++
		if hdr.Typeflag == tar.TypeReg {
			files++
			bytes += hdr.Size
		}
		if progress != nil {
			progress(Progress{Phase: phase, Path: want.Path, Files: entries, Bytes: bytes, TotalFiles: total.Entries, TotalBytes: total.Bytes})
		}
		return nil
	})
	if err != nil {
		var ve *VerifyError
		var vis errVisit
		switch {
		case errors.As(err, &ve):
			return ve
		case errors.As(err, &vis):
			return vis.err
		case ctx.Err() != nil:
			return ctx.Err()
		}
		// Decompression or tar framing errors: the entry after the last good one is bad.
		entry := last
		if e, nerr := next(); nerr == nil {
			entry = e.Path
		}
		return &VerifyError{Entry: entry, Reason: "archive unreadable: " + err.Error()}
	}
	e, err := next()
	if err == nil {
		return &VerifyError{Entry: e.Path, Reason: "in the manifest but missing from the archive (truncated?)"}
	}
	if err != io.EOF {
		return fmt.Errorf("%s: manifest %s: %w", phase, manifestPath, err)
	}
	if tailErr != nil {
		return &VerifyError{Reason: "archive damaged after the end of the tar stream: " + tailErr.Error()}
	}
	tr, _ := mr.Trailer()
	if tr.Entries != entries || tr.Files != files || tr.Bytes != bytes {
		return &VerifyError{Reason: fmt.Sprintf("archive holds %d entries, %d files, %d bytes; manifest trailer says %d, %d, %d",
			entries, files, bytes, tr.Entries, tr.Files, tr.Bytes)}
	}
	return nil
}

// readSide marks errors met while reading archive data, so that a visitor's
// error can be told apart from a damaged archive.
type readSide struct{ r io.Reader }

type readError struct{ err error }

func (e readError) Error() string { return e.err.Error() }
func (e readError) Unwrap() error { return e.err }

func (r readSide) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil && err != io.EOF {
		err = readError{err}
	}
	return n, err
}

// drainingZstd reads the compressed stream to its end when archives closes
// it, so damage in frames after the tar end-of-archive is not missed;
// archives drops Close errors, so the error is handed back through errp.
type drainingZstd struct {
	FramedZstd
	errp *error
}

func (d drainingZstd) OpenReader(r io.Reader) (io.ReadCloser, error) {
	rc, err := d.FramedZstd.OpenReader(r)
	if err != nil {
		return nil, err
	}
	return drainCloser{rc, d.errp}, nil
}

type drainCloser struct {
	io.ReadCloser
	errp *error
}

func (d drainCloser) Close() error {
	if _, err := io.Copy(io.Discard, d.ReadCloser); err != nil && *d.errp == nil {
		*d.errp = err
	}
	return d.ReadCloser.Close()
}

// isReadError reports errors that come from decoding the archive, as opposed
// to writing a restored file.
func isReadError(err error) bool {
	var re readError
	return errors.As(err, &re)
}

type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }

func tarType(t EntryType) byte {
	switch t {
	case TypeDir:
		return tar.TypeDir
	case TypeFile:
		return tar.TypeReg
	case TypeSymlink:
		return tar.TypeSymlink
	case TypeHardlink:
		return tar.TypeLink
	case TypeFIFO:
		return tar.TypeFifo
	}
	return 0
}

// compareHeader returns why a tar header does not match its manifest entry,
// or "" when it does.
func compareHeader(hdr *tar.Header, want Entry) string {
	switch {
	case hdr.Name != tarName(want):
		return fmt.Sprintf("archive has %q where the manifest has %q", hdr.Name, tarName(want))
	case hdr.Typeflag != tarType(want.Type):
		return fmt.Sprintf("type %q, manifest says %s", hdr.Typeflag, want.Type)
	case hdr.Mode != int64(want.Mode):
		return fmt.Sprintf("mode %04o, manifest says %s", hdr.Mode, want.Mode)
	case hdr.Uid != want.UID || hdr.Gid != want.GID:
		return fmt.Sprintf("owner %d:%d, manifest says %d:%d", hdr.Uid, hdr.Gid, want.UID, want.GID)
	case hdr.ModTime.UnixNano() != want.MtimeNS:
		return fmt.Sprintf("mtime %d, manifest says %d", hdr.ModTime.UnixNano(), want.MtimeNS)
	case hdr.Typeflag == tar.TypeReg && hdr.Size != want.Size:
		return fmt.Sprintf("size %d, manifest says %d", hdr.Size, want.Size)
	case hdr.Typeflag != tar.TypeReg && hdr.Size != 0:
		return fmt.Sprintf("size %d on a non-file entry", hdr.Size)
	case (want.Type == TypeSymlink || want.Type == TypeHardlink) && hdr.Linkname != want.Link:
		return fmt.Sprintf("link %q, manifest says %q", hdr.Linkname, want.Link)
	}
	return ""
}
