// Package export writes the appendix's `ldapsearch -L` backups (iPlanet
// Messaging Server 5.2 Installation Guide, Appendix C, pre-upgrade step 4)
// with github.com/go-ldap/ldap/v3: a paged search (RFC 2696) streamed to an
// RFC 2849 file that appears under its final name only when complete.
//
// On a connection made by Dial, Export searches on a second connection of
// its own (same address, TLS and bind) and decodes the responses with a lean
// BER reader (ber.go) instead of go-ldap's Packet trees; go-ldap still
// encodes the requests and does everything else. bench/ldif.sh, 200k entries
// on slapd, pages of 1000, interleaved with `ldapsearch -x -LLL -E
// pr=1000/noprompt` (entries/s ours/ldapsearch, our peak RSS):
//
//	go-ldap SearchAsync per page:  0.35-0.40x, RSS 25 MiB
//	lean decoder, two runs:        1.72x (1.67 s vs 2.86 s), 1.37x (1.61 s
//	                               vs 2.21 s), RSS 13 MiB; half the entries
//	                               1.39x and 1.59x, RSS 12-13 MiB (flat)
//
// Old servers: the paged-results control (RFC 2696, OID
// 1.2.840.113556.1.4.319) is sent only when the server's root DSE lists it
// in supportedControl (RFC 4512 §5.1), and then NOT critical, so a server
// that cannot page it anyway answers the search in full instead of refusing
// it. A server that does not list it gets a plain search; its size limit
// ends that search with sizeLimitExceeded (RFC 4511 §4.5.2: "only a partial
// set of results"), and Export reports that as a failure naming the limit
// rather than writing a short file. Count repeats a search asking for no
// attributes ("1.1", RFC 4511 §4.5.1.8), the independent count a caller
// compares with the entries Export wrote.
package export

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/go-ldap/ldap/v3"

	"mswizard/internal/atomicfile"
	"mswizard/ldif"
)

// Scope is an RFC 4511 search scope; the zero value is the whole subtree,
// what ldapsearch uses by default.
type Scope int

// Search scopes.
const (
	ScopeSub Scope = iota
	ScopeOne
	ScopeBase
)

func (s Scope) ldap() int {
	switch s {
	case ScopeOne:
		return ldap.ScopeSingleLevel
	case ScopeBase:
		return ldap.ScopeBaseObject
	}
	return ldap.ScopeWholeSubtree
}

func (s Scope) String() string {
	return [...]string{"sub", "one", "base"}[s]
}

// Spec says what one export searches and where it writes.
type Spec struct {
	Name       string   // short label: "ug", "pab"
	Base       string   // search base DN
	Scope      Scope    // default subtree
	Filter     string   // RFC 4515; default (objectclass=*)
	Attributes []string // nil: all user attributes
	File       string   // file name inside destDir, no directories
}

// DefaultSpecs returns the appendix's two backups: the users and groups
// under userSuffix with (objectclass=inetlocalmailrecipient) to DATE.ug.ldif,
// and the personal address books under o=pab with (objectclass=*) to
// DATE.pab.ldif, where DATE is now as YYYYMMDD (in now's location).
func DefaultSpecs(userSuffix string, now time.Time) []Spec {
	date := now.Format("20060102")
	return []Spec{
		{Name: "ug", Base: userSuffix, Filter: "(objectclass=inetlocalmailrecipient)", File: date + ".ug.ldif"},
		{Name: "pab", Base: "o=pab", Filter: "(objectclass=*)", File: date + ".pab.ldif"},
	}
}

// Options tunes Export. The zero value is usable.
type Options struct {
	PageSize int // RFC 2696 page size; default 1000
	// IdleTimeout fails the export when the server sends nothing for this
	// long (a hung or stopped server); default 60 s.
	IdleTimeout time.Duration
	// AllowReferrals accepts search continuation references (RFC 4511
	// §4.5.3): they are listed in Result.Referrals but not followed. By
	// default any referral fails the export, since the backup would miss
	// the referred entries.
	AllowReferrals bool
	// Progress, if set, is called from Export's goroutine with the entries
	// and bytes written so far: after each page and every 256 entries.
	Progress func(entries int, bytes int64)
	// Server is written into the file's header comment (credentials in
	// the URL are removed).
	Server string
	// Now stamps the header; default time.Now.
	Now func() time.Time
	// GoLDAPDecoder turns the lean search path off. By default, when conn
	// is a live connection returned by Dial, Export opens a second
	// connection the same way (address, TLS, bind) and decodes the search
	// responses itself (see ber.go); otherwise, or when that connection
	// cannot be opened, it searches on conn with go-ldap's SearchAsync.
	GoLDAPDecoder bool
	// Paging says whether the RFC 2696 control is sent: PagingAuto (the
	// default) asks the root DSE first.
	Paging Paging
	// Required names attributes an export must show: when none of the
	// first SampleSize entries carries one of them, the export fails — an
	// access control that hides it from the bind DN (a non-root bind that
	// may not read userPassword) would otherwise leave a thin backup that
	// looks whole (FAULTS.md L4). Entries that lack an attribute the
	// directory does hold cannot be told from hidden ones one by one, so a
	// sample is judged, not each entry.
	Required []string
	// SampleSize is how many first entries Required is judged on; default 100.
	SampleSize int
	// Subentries also exports the subentries below the base, whatever the
	// filter: RFC 3672 subentries (OpenLDAP: password policies), asked for
	// with the subentries control, and the ldapSubEntry entries of iPlanet
	// and 389 Directory Server (class of service definitions and templates,
	// roles), which those servers return only to a filter naming them. By
	// default they are left out, as a plain search leaves them out, and the
	// export says so in its Result (FAULTS.md L8).
	Subentries bool
}

// Paging is Options.Paging.
type Paging int

// The paging choices.
const (
	PagingAuto Paging = iota // paged when the root DSE lists the control
	PagingOn                 // always paged (the control is still not critical)
	PagingOff                // a plain search
)

// OIDPagedResults is the RFC 2696 simple paged results control.
const OIDPagedResults = ldap.ControlTypePaging

// Result describes a completed export.
type Result struct {
	Path      string
	Entries   int
	Bytes     int64
	SHA256    string // hex of the file's bytes
	Referrals []string
	Paged     bool // whether the search used the paged-results control
	// Subentries is how many subentries were exported (Options.Subentries).
	Subentries int
}

// Searcher is the part of *ldap.Conn Export uses.
type Searcher interface {
	SearchAsync(ctx context.Context, req *ldap.SearchRequest, bufferSize int) ldap.Response
}

// ErrIdle reports a server that sent nothing within Options.IdleTimeout.
var ErrIdle = errors.New("server sent nothing within the idle timeout")

// Export runs spec's search on conn page by page (RFC 2696, cookie loop, one
// SearchAsync per page, so memory stays flat) and streams the entries as
// RFC 2849 LDIF to destDir/spec.File+".partial", then fsyncs it, renames it
// to destDir/spec.File and fsyncs destDir. Any result other than success
// fails the export: a size, time or administrative limit (the entries sent
// before it are discarded), a dropped connection, an idle server, a
// cancelled ctx, and by default a referral. On failure the .partial file is
// removed and nothing is created under the final name; a retry is a new
// Export call and restarts from the first page (a paging cookie is bound to
// its connection). The file is created 0600: exports hold password hashes.
func Export(ctx context.Context, conn Searcher, spec Spec, destDir string, opts Options) (res Result, err error) {
	if spec.File == "" || spec.File != filepath.Base(spec.File) || spec.File == "." || spec.File == ".." {
		return res, fmt.Errorf("export %s: file name %q must be a plain name", spec.Name, spec.File)
	}
	if spec.Filter == "" {
		spec.Filter = "(objectclass=*)"
	}
	if _, err := ldap.CompileFilter(spec.Filter); err != nil {
		return res, fmt.Errorf("export %s: filter %q: %w", spec.Name, spec.Filter, err)
	}
	if opts.PageSize <= 0 {
		opts.PageSize = 1000
	}
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = 60 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	final := filepath.Join(destDir, spec.File)
	partial := final + ".partial"
	f, err := os.OpenFile(partial, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return res, fmt.Errorf("export %s: %w", spec.Name, err)
	}
	open := true // f still open; partial still to remove on failure
	defer func() {
		if err != nil {
			errs := []error{fmt.Errorf("export %s to %s: %w", spec.Name, final, err)}
			if open {
				errs = append(errs, f.Close(), os.Remove(partial))
			}
			err, res = errors.Join(errs...), Result{}
		}
	}()

	// An export allocates little and keeps nothing: collect garbage less
	// often while it runs (the heap stays a few MiB either way).
	defer debug.SetGCPercent(debug.SetGCPercent(400))
	h := sha256.New()
	w := ldif.NewWriterSize(io.MultiWriter(&writeback{f: f}, h), 256<<10)
	if err := w.WriteHeader(ldif.Header{Server: redactURL(opts.Server), Base: spec.Base, Scope: spec.Scope.String(),
		Filter: spec.Filter, Time: opts.Now()}); err != nil {
		return res, err
	}
	var sink sink = w
	var req *required
	if len(opts.Required) > 0 {
		req = newRequired(w, opts.Required, opts.SampleSize)
		sink = req
	}
	refs, paged, err := run(ctx, conn, spec, opts, sink)
	if err != nil {
		return res, err
	}
	subs := 0
	if opts.Subentries {
		before := w.Entries()
		r, err := search(ctx, conn, subentrySpec(spec), opts, paged, &subentrySearch{sink: w})
		if err != nil {
			return res, fmt.Errorf("subentries: %w", err)
		}
		refs = append(refs, r...)
		subs = w.Entries() - before
	}
	if err := req.check(); err != nil {
		return res, err
	}
	if len(refs) > 0 && !opts.AllowReferrals {
		return res, fmt.Errorf("server returned %d referral(s) (%s): the referred entries would be missing; allow referrals to export anyway",
			len(refs), strings.Join(refs, ", "))
	}
	if err := w.Close(); err != nil {
		return res, err
	}
	if err := f.Sync(); err != nil {
		return res, fmt.Errorf("fsync: %w", err)
	}
	open = false
	if err := f.Close(); err != nil {
		return res, errors.Join(fmt.Errorf("close: %w", err), os.Remove(partial))
	}
	if err := os.Rename(partial, final); err != nil {
		return res, errors.Join(err, os.Remove(partial))
	}
	if err := atomicfile.SyncDir(destDir); err != nil {
		// The rename may not be durable: take the file back rather than
		// report a backup that could vanish on a crash.
		return res, errors.Join(fmt.Errorf("fsync %s: %w", destDir, err), os.Remove(final))
	}
	if opts.Progress != nil {
		opts.Progress(w.Entries(), w.Bytes())
	}
	return Result{Path: final, Entries: w.Entries(), Bytes: w.Bytes(), SHA256: hex.EncodeToString(h.Sum(nil)), Referrals: refs, Paged: paged, Subentries: subs}, nil
}

// required is the sink that judges Options.Required on the first entries.
type required struct {
	sink
	names  []string
	seen   map[string]bool
	sample int
	judged int
}

func newRequired(w sink, names []string, sample int) *required {
	if sample <= 0 {
		sample = 100
	}
	return &required{sink: w, names: names, seen: map[string]bool{}, sample: sample}
}

func (r *required) WriteEntry(e *ldif.Entry) error {
	if r.judged < r.sample {
		r.judged++
		for _, n := range r.names {
			if !r.seen[n] && len(e.Get(n)) > 0 {
				r.seen[n] = true
			}
		}
	}
	return r.sink.WriteEntry(e)
}

// check fails when an entry was sampled and a required attribute was in none.
func (r *required) check() error {
	if r == nil || r.judged == 0 {
		return nil
	}
	var missing []string
	for _, n := range r.names {
		if !r.seen[n] {
			missing = append(missing, n)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return fmt.Errorf("none of the first %d entries carries %s: an access control may hide it from the bind DN, and the export would be thin; "+
		"bind as the directory manager, or grant the bind DN read access to it", r.judged, strings.Join(missing, ", "))
}

// OIDSubentries is the subentries control (RFC 3672 §3): with the value
// TRUE a search returns the subentries in its scope and nothing else.
const OIDSubentries = "1.3.6.1.4.1.4203.1.10.1"

// subentriesControl asks for the subentries (RFC 3672). It is not critical:
// iPlanet and 389 Directory Server, which may not know it, return their
// ldapSubEntry entries to the filter instead.
type subentriesControl struct{}

func (subentriesControl) GetControlType() string { return OIDSubentries }
func (subentriesControl) String() string         { return "subentries (RFC 3672): TRUE" }
func (subentriesControl) Encode() *ber.Packet {
	p := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "Control")
	p.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, OIDSubentries, "Control Type"))
	v := ber.Encode(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, nil, "Control Value")
	v.AppendChild(ber.NewBoolean(ber.ClassUniversal, ber.TypePrimitive, ber.TagBoolean, true, "visibility"))
	p.AppendChild(v)
	return p
}

// subentrySpec is the search for spec's subentries: the same base, scope
// and attributes, every subentry whatever spec's filter selects.
func subentrySpec(spec Spec) Spec {
	spec.Filter = "(|(objectClass=subentry)(objectClass=ldapSubEntry))"
	return spec
}

// subentrySearch marks the search as the subentries' one (search sends the
// control) and passes the entries on.
type subentrySearch struct{ sink }

// writeback starts the kernel's writeback of every writebackChunk written
// (sync_file_range(2) SYNC_FILE_RANGE_WRITE, asynchronous), so the fsync that
// makes the finished file durable has little left to flush instead of the
// whole file at once. Errors are ignored: the fsync still decides.
type writeback struct {
	f        *os.File
	off, beg int64
}

const writebackChunk = 8 << 20

func (w *writeback) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.off += int64(n)
	if w.off-w.beg >= writebackChunk {
		startWriteback(w.f, w.beg, w.off-w.beg)
		w.beg = w.off
	}
	return n, err
}

// sink receives the entries of a search: the LDIF writer, or a counter.
type sink interface {
	WriteEntry(e *ldif.Entry) error
	Entries() int
	Bytes() int64
}

// counter is the sink of Count.
type counter struct{ n int }

func (c *counter) WriteEntry(*ldif.Entry) error { c.n++; return nil }
func (c *counter) Entries() int                 { return c.n }
func (c *counter) Bytes() int64                 { return 0 }

// run decides on paging and runs the search on the lean path when it can.
func run(ctx context.Context, conn Searcher, spec Spec, opts Options, w sink) (refs []string, paged bool, err error) {
	switch opts.Paging {
	case PagingOn:
		paged = true
	case PagingAuto:
		if paged, err = pagingSupported(ctx, conn, opts.IdleTimeout); err != nil {
			return nil, false, err
		}
	}
	if ep := endpointOf(conn); ep != nil && !opts.GoLDAPDecoder {
		c, fatal, err := dialRaw(ctx, ep, opts.IdleTimeout)
		switch {
		case err == nil:
			ep.searches.Add(1)
			refs, err = rawSearch(ctx, c, spec, opts, paged, w)
			c.close()
			return refs, paged, err
		case fatal:
			return nil, paged, fmt.Errorf("page 1, after 0 entries: %w", err)
		}
		// e.g. a server that limits connections: use the caller's
	}
	refs, err = search(ctx, conn, spec, opts, paged, w)
	return refs, paged, err
}

// Count runs spec's search again asking for no attributes (the special
// attribute list "1.1", RFC 4511 §4.5.1.8), paged as Export would, and
// returns how many entries the server sent: a count independent of any file
// written. It fails as Export does on a limit, a lost connection or, unless
// allowed, a referral.
func Count(ctx context.Context, conn Searcher, spec Spec, opts Options) (int, error) {
	if spec.Filter == "" {
		spec.Filter = "(objectclass=*)"
	}
	if opts.PageSize <= 0 {
		opts.PageSize = 1000
	}
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = 60 * time.Second
	}
	spec.Attributes = []string{"1.1"}
	opts.Progress = nil
	var c counter
	refs, paged, err := run(ctx, conn, spec, opts, &c)
	if err != nil {
		return 0, fmt.Errorf("count %s: %w", spec.Name, err)
	}
	if opts.Subentries {
		r, err := search(ctx, conn, subentrySpec(spec), opts, paged, &subentrySearch{sink: &c})
		if err != nil {
			return 0, fmt.Errorf("count %s: subentries: %w", spec.Name, err)
		}
		refs = append(refs, r...)
	}
	if len(refs) > 0 && !opts.AllowReferrals {
		return 0, fmt.Errorf("count %s: server returned %d referral(s)", spec.Name, len(refs))
	}
	return c.n, nil
}

// pagingSupported reads the root DSE's supportedControl (RFC 4512 §5.1.4).
// A root DSE that cannot be read (old servers, access control) says no:
// the plain search that follows detects a size limit anyway.
func pagingSupported(ctx context.Context, conn Searcher, idle time.Duration) (bool, error) {
	req := ldap.NewSearchRequest("", ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, 0, false,
		"(objectClass=*)", []string{"supportedControl"}, nil)
	cctx, cancel := context.WithTimeoutCause(ctx, idle, ErrIdle)
	defer cancel()
	r := conn.SearchAsync(cctx, req, 4)
	found := false
	for r.Next() {
		if e := r.Entry(); e != nil {
			for _, v := range e.GetAttributeValues("supportedControl") {
				if v == OIDPagedResults {
					found = true
				}
			}
		}
	}
	if ctx.Err() != nil {
		return false, context.Cause(ctx)
	}
	if errors.Is(context.Cause(cctx), ErrIdle) {
		return false, fmt.Errorf("root dse: %w (%s)", ErrIdle, idle)
	}
	if err := r.Err(); err != nil && !ldap.IsErrorAnyOf(err, ldap.LDAPResultNoSuchObject, ldap.LDAPResultInsufficientAccessRights) {
		return false, fmt.Errorf("root dse: %w", err)
	}
	return found, nil
}

// limitErr explains a search the server ended at one of its limits: the
// entries sent before it are a partial set (RFC 4511 §4.5.2), never a backup.
func limitErr(err error, paged bool) error {
	if !ldap.IsErrorAnyOf(err, ldap.LDAPResultSizeLimitExceeded, ldap.LDAPResultTimeLimitExceeded, ldap.LDAPResultAdminLimitExceeded) {
		return err
	}
	how := "a plain search (the server does not offer paged results)"
	if paged {
		how = "a paged search"
	}
	return fmt.Errorf("the server's limit ended %s before the last entry, so the entries received are a partial set: "+
		"raise the size/time limit for the bind DN (nsslapd-sizelimit / olcLimits) and export again: %w", how, err)
}

// search runs the page loop and writes every entry.
func search(ctx context.Context, conn Searcher, spec Spec, opts Options, paged bool, w sink) ([]string, error) {
	var refs []string
	var cookie []byte
	var entry ldif.Entry
	for page := 1; ; page++ {
		if err := ctx.Err(); err != nil {
			return refs, err
		}
		var ctrls []ldap.Control
		if paged {
			ctrls = []ldap.Control{&pagingControl{size: uint32(opts.PageSize), cookie: cookie}}
		}
		if _, ok := w.(*subentrySearch); ok {
			ctrls = append(ctrls, subentriesControl{})
		}
		req := ldap.NewSearchRequest(spec.Base, spec.Scope.ldap(), ldap.NeverDerefAliases, 0, 0, false,
			spec.Filter, spec.Attributes, ctrls)
		pctx, cancel := context.WithCancelCause(ctx)
		idle := time.AfterFunc(opts.IdleTimeout, func() { cancel(ErrIdle) })
		r := conn.SearchAsync(pctx, req, 256)
		var done []ldap.Control
		n := 0
		for r.Next() {
			idle.Reset(opts.IdleTimeout)
			if e := r.Entry(); e != nil {
				entry.DN = e.DN
				entry.Attributes = entry.Attributes[:0]
				for _, a := range e.Attributes {
					entry.Attributes = append(entry.Attributes, ldif.Attribute{Name: a.Name, Values: a.Values})
				}
				if err := w.WriteEntry(&entry); err != nil {
					idle.Stop()
					cancel(nil)
					return refs, err
				}
				n++
				if opts.Progress != nil && n%256 == 0 {
					opts.Progress(w.Entries(), w.Bytes())
				}
			}
			if ref := r.Referral(); ref != "" {
				refs = append(refs, ref)
			}
			if c := r.Controls(); len(c) > 0 {
				done = c
			}
		}
		idle.Stop()
		// SearchAsync ends a cancelled search with Err() == nil: the
		// cause says whether it was ctx, the idle timer or nothing.
		cause := context.Cause(pctx)
		cancel(nil)
		if err := r.Err(); err != nil {
			return refs, fmt.Errorf("page %d, after %d entries: %w", page, w.Entries(), limitErr(err, paged))
		}
		if cause != nil {
			if errors.Is(cause, ErrIdle) {
				return refs, fmt.Errorf("page %d, after %d entries: %w (%s)", page, w.Entries(), ErrIdle, opts.IdleTimeout)
			}
			return refs, fmt.Errorf("page %d, after %d entries: %w", page, w.Entries(), cause)
		}
		if !paged {
			if c, ok := conn.(interface{ IsClosing() bool }); ok && c.IsClosing() {
				return refs, fmt.Errorf("after %d entries: connection to the server lost before the search finished", w.Entries())
			}
			return refs, nil
		}
		// The server listed the control, so a successful page ends with it
		// (RFC 2696 §3). go-ldap's SearchAsync can end a search cut by a
		// lost connection without an error, so here (unlike the lean path,
		// which sees the SearchResultDone itself) a page without it counts
		// as unfinished.
		pc, ok := ldap.FindControl(done, ldap.ControlTypePaging).(*ldap.ControlPaging)
		if !ok {
			why := "search ended without its paged result"
			if c, ok := conn.(interface{ IsClosing() bool }); ok && c.IsClosing() {
				why = "connection to the server lost before the search finished"
			}
			return refs, fmt.Errorf("page %d, after %d entries: %s", page, w.Entries(), why)
		}
		if opts.Progress != nil {
			opts.Progress(w.Entries(), w.Bytes())
		}
		if len(pc.Cookie) == 0 {
			return refs, nil
		}
		cookie = append(cookie[:0], pc.Cookie...)
	}
}

// pagingControl is the RFC 2696 control, not critical (RFC 4511
// §4.1.11): a server that lists it but cannot page this search answers in
// full rather than refusing it, and limitErr catches any limit it applies.
type pagingControl struct {
	size   uint32
	cookie []byte
}

func (c *pagingControl) GetControlType() string { return ldap.ControlTypePaging }

func (c *pagingControl) String() string {
	return fmt.Sprintf("Control Type: Paging (%q)  Criticality: false  PagingSize: %d", ldap.ControlTypePaging, c.size)
}

func (c *pagingControl) Encode() *ber.Packet {
	p := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "Control")
	p.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, ldap.ControlTypePaging, "Control Type"))
	// criticality FALSE is the DEFAULT and is left out (X.690 §11.5, DER).
	v := ber.Encode(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, nil, "Control Value (Paging)")
	seq := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "Search Control Value")
	seq.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, int64(c.size), "Paging Size"))
	ck := ber.Encode(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, nil, "Cookie")
	ck.Value = c.cookie
	ck.Data.Write(c.cookie)
	seq.AppendChild(ck)
	v.AppendChild(seq)
	p.AppendChild(v)
	return p
}

// Verify re-reads the LDIF file at path and checks it holds exactly
// wantEntries content records. It returns the count read.
func Verify(path string, wantEntries int) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("verify: %w", err)
	}
	defer f.Close()
	r := ldif.NewReader(f, path, ldif.ReaderOptions{})
	n := 0
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return n, fmt.Errorf("verify: %w", err)
		}
		if rec.ChangeType != "" {
			return n, fmt.Errorf("verify: %s:%d: change record in an export", path, rec.Line)
		}
		n++
	}
	if n != wantEntries {
		return n, fmt.Errorf("verify: %s holds %d entries, want %d", path, n, wantEntries)
	}
	return n, nil
}
