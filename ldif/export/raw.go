package export

// The lean search path: Export's own connection, with go-ldap kept for
// encoding requests (one per page) and the lean decoder of ber.go for the
// responses.

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
	"weak"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/go-ldap/ldap/v3"

	"mswizard/ldif"
)

// endpoint is how Dial reached and authenticated to a server, so Export can
// open a second connection the same way for its lean search.
type endpoint struct {
	addr     string // host:port
	ldaps    bool
	startTLS bool
	tc       *tls.Config
	bind     Bind
	timeout  time.Duration
	searches atomic.Int64 // lean searches run (tests check it)
}

// dialed maps the connections Dial returned to their endpoint. Keys are weak:
// an entry goes away with its connection.
var dialed sync.Map // weak.Pointer[ldap.Conn] -> *endpoint

func remember(c *ldap.Conn, ep *endpoint) {
	k := weak.Make(c)
	dialed.Store(k, ep)
	runtime.AddCleanup(c, func(k weak.Pointer[ldap.Conn]) { dialed.Delete(k) }, k)
}

// endpointOf returns the endpoint of a live connection made by Dial.
func endpointOf(s Searcher) *endpoint {
	c, ok := s.(*ldap.Conn)
	if !ok || c == nil || c.IsClosing() {
		return nil
	}
	ep, ok := dialed.Load(weak.Make(c))
	if !ok {
		return nil
	}
	return ep.(*endpoint)
}

// rawConn is an LDAP connection read by msgReader. Every read and write must
// make progress within idle; ctx's end closes it.
type rawConn struct {
	nc     net.Conn
	idle   time.Duration
	r      *msgReader
	m      rawMessage
	nextID int64
	stop   func() bool
}

// idleConn sets a fresh deadline before every read and write.
type idleConn struct {
	net.Conn
	idle time.Duration
}

func (c idleConn) Read(p []byte) (int, error) {
	if err := c.Conn.SetReadDeadline(time.Now().Add(c.idle)); err != nil {
		return 0, err
	}
	return c.Conn.Read(p)
}

func (c idleConn) Write(p []byte) (int, error) {
	if err := c.Conn.SetWriteDeadline(time.Now().Add(c.idle)); err != nil {
		return 0, err
	}
	return c.Conn.Write(p)
}

// netErr turns a deadline into ErrIdle and a closed connection after ctx
// ended into ctx's error.
func (c *rawConn) netErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return fmt.Errorf("%w (%s)", ErrIdle, c.idle)
	}
	return err
}

// dialRaw connects, secures and binds as Dial did for ep. Errors that say
// the server is unreachable or hung are returned with fatal set: falling
// back to the caller's connection would only wait again.
func dialRaw(ctx context.Context, ep *endpoint, idle time.Duration) (*rawConn, bool, error) {
	dctx, cancel := context.WithTimeout(ctx, ep.timeout)
	defer cancel()
	var d net.Dialer
	nc, err := d.DialContext(dctx, "tcp", ep.addr)
	if err != nil {
		return nil, ctx.Err() != nil, err
	}
	c := &rawConn{nc: nc, idle: idle, nextID: 1}
	c.stop = context.AfterFunc(ctx, func() { nc.Close() })
	fatal, err := c.open(ctx, ep)
	if err != nil {
		c.close()
		return nil, fatal || ctx.Err() != nil, err
	}
	return c, false, nil
}

func (c *rawConn) open(ctx context.Context, ep *endpoint) (fatal bool, err error) {
	if ep.ldaps {
		if err := c.handshake(ep.tc); err != nil {
			return errors.Is(err, ErrIdle), fmt.Errorf("tls: %w", c.netErr(ctx, err))
		}
	}
	c.r = newMsgReader(idleConn{c.nc, c.idle})
	if ep.startTLS {
		p := envelope(c.id())
		req := ber.Encode(ber.ClassApplication, ber.TypeConstructed, ldap.ApplicationExtendedRequest, nil, "Start TLS")
		req.AppendChild(ber.NewString(ber.ClassContext, ber.TypePrimitive, 0, "1.3.6.1.4.1.1466.20037", "TLS Extended Command"))
		p.AppendChild(req)
		if err := c.roundTrip(ctx, p.Bytes(), appExtendedResponse); err != nil {
			return errors.Is(err, ErrIdle), fmt.Errorf("starttls: %w", err)
		}
		if c.r.br.Buffered() != c.r.pending {
			return false, errors.New("starttls: server sent data before the TLS handshake")
		}
		if err := c.handshake(ep.tc); err != nil {
			return errors.Is(err, ErrIdle), fmt.Errorf("starttls: %w", c.netErr(ctx, err))
		}
		c.r = newMsgReader(idleConn{c.nc, c.idle})
	}
	if ep.bind.DN != "" {
		p := envelope(c.id())
		req := ber.Encode(ber.ClassApplication, ber.TypeConstructed, ldap.ApplicationBindRequest, nil, "Bind Request")
		req.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, 3, "Version"))
		req.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, ep.bind.DN, "User Name"))
		req.AppendChild(ber.NewString(ber.ClassContext, ber.TypePrimitive, 0, ep.bind.Password.reveal(), "Password"))
		p.AppendChild(req)
		if err := c.roundTrip(ctx, p.Bytes(), appBindResponse); err != nil {
			return errors.Is(err, ErrIdle), fmt.Errorf("bind as %q: %w", ep.bind.DN, err)
		}
	}
	return false, nil
}

func (c *rawConn) handshake(tc *tls.Config) error {
	t := tls.Client(c.nc, tc)
	if err := t.SetDeadline(time.Now().Add(c.idle)); err != nil {
		return err
	}
	if err := t.Handshake(); err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return fmt.Errorf("%w (%s)", ErrIdle, c.idle)
		}
		return err
	}
	if err := t.SetDeadline(time.Time{}); err != nil {
		return err
	}
	c.nc = t
	return nil
}

func (c *rawConn) id() int64 {
	id := c.nextID
	c.nextID++
	return id
}

func envelope(id int64) *ber.Packet {
	p := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "LDAP Request")
	p.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, id, "MessageID"))
	return p
}

func (c *rawConn) write(ctx context.Context, b []byte) error {
	if _, err := (idleConn{c.nc, c.idle}).Write(b); err != nil {
		return c.netErr(ctx, err)
	}
	return nil
}

// read reads and decodes the next message of request id into c.m.
func (c *rawConn) read(ctx context.Context, id int64) error {
	body, err := c.r.next()
	if err != nil {
		return c.netErr(ctx, err)
	}
	if err := decodeMessage(body, &c.m); err != nil {
		return err
	}
	if c.m.id == id {
		return nil
	}
	if c.m.id == 0 && c.m.op == appExtendedResponse { // RFC 4511 §4.4.1 notice of disconnection
		return fmt.Errorf("server disconnects: %w", resultErr(&c.m.result))
	}
	return fmt.Errorf("%w: response to message %d while waiting for %d", errBER, c.m.id, id)
}

// roundTrip sends one request and requires a successful response of op.
func (c *rawConn) roundTrip(ctx context.Context, req []byte, op byte) error {
	id := c.nextID - 1
	if err := c.write(ctx, req); err != nil {
		return err
	}
	if err := c.read(ctx, id); err != nil {
		return err
	}
	if c.m.op != op {
		return fmt.Errorf("%w: response 0x%02x, want 0x%02x", errBER, c.m.op, op)
	}
	if c.m.result.code != 0 {
		return resultErr(&c.m.result)
	}
	return nil
}

// resultErr is the *ldap.Error go-ldap returns for a result, so callers can
// test codes with ldap.IsErrorWithCode either way.
func resultErr(r *rawResult) error {
	code := r.code
	if code > 0xffff {
		code = ldap.ErrorUnexpectedResponse
	}
	return &ldap.Error{ResultCode: uint16(code), MatchedDN: string(r.matchedDN), Err: errors.New(string(r.diagnostic))}
}

func (c *rawConn) close() {
	c.stop()
	c.nc.SetWriteDeadline(time.Now().Add(time.Second))
	p := envelope(c.id())
	p.AppendChild(ber.Encode(ber.ClassApplication, ber.TypePrimitive, ldap.ApplicationUnbindRequest, nil, "Unbind Request"))
	c.nc.Write(p.Bytes()) // best effort: the server also cleans up on close
	c.nc.Close()
}

// searchRequest encodes one page's SearchRequest (RFC 4511 §4.5.1) as
// go-ldap would.
func searchRequest(id int64, spec Spec, ctrl *pagingControl) ([]byte, error) {
	filter, err := ldap.CompileFilter(spec.Filter)
	if err != nil {
		return nil, err
	}
	p := envelope(id)
	req := ber.Encode(ber.ClassApplication, ber.TypeConstructed, ldap.ApplicationSearchRequest, nil, "Search Request")
	req.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, spec.Base, "Base DN"))
	req.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagEnumerated, uint64(spec.Scope.ldap()), "Scope"))
	req.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagEnumerated, uint64(ldap.NeverDerefAliases), "Deref Aliases"))
	req.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, uint64(0), "Size Limit"))
	req.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, uint64(0), "Time Limit"))
	req.AppendChild(ber.NewBoolean(ber.ClassUniversal, ber.TypePrimitive, ber.TagBoolean, false, "Types Only"))
	req.AppendChild(filter)
	attrs := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "Attributes")
	for _, a := range spec.Attributes {
		attrs.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, a, "Attribute"))
	}
	req.AppendChild(attrs)
	p.AppendChild(req)
	if ctrl != nil {
		ctl := ber.Encode(ber.ClassContext, ber.TypeConstructed, 0, nil, "Controls")
		ctl.AppendChild(ctrl.Encode())
		p.AppendChild(ctl)
	}
	return p.Bytes(), nil
}

// bstr views b as a string without copying. The string must not outlive
// the message b points into: it is only handed to ldif.Writer.WriteEntry,
// which copies what it writes.
func bstr(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// rawSearch is search's page loop over a rawConn.
func rawSearch(ctx context.Context, c *rawConn, spec Spec, opts Options, paged bool, w sink) ([]string, error) {
	var refs []string
	var cookie []byte
	var entry ldif.Entry
	var vals []string
	for page := 1; ; page++ {
		fail := func(err error) ([]string, error) {
			return refs, fmt.Errorf("page %d, after %d entries: %w", page, w.Entries(), err)
		}
		if err := ctx.Err(); err != nil {
			return fail(err)
		}
		id := c.id()
		var ctrl *pagingControl
		if paged {
			ctrl = &pagingControl{size: uint32(opts.PageSize), cookie: cookie}
		}
		req, err := searchRequest(id, spec, ctrl)
		if err != nil {
			return fail(err)
		}
		if err := c.write(ctx, req); err != nil {
			return fail(err)
		}
		n := 0
	page:
		for {
			if err := c.read(ctx, id); err != nil {
				if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
					err = fmt.Errorf("connection to the server lost before the search finished: %w", err)
				}
				return fail(err)
			}
			m := &c.m
			switch m.op {
			case appSearchEntry:
				entry.DN = bstr(m.dn)
				entry.Attributes = entry.Attributes[:0]
				vals = vals[:0]
				for _, a := range m.attrs[:m.nattrs] {
					start := len(vals)
					for _, v := range a.vals {
						vals = append(vals, bstr(v))
					}
					entry.Attributes = append(entry.Attributes, ldif.Attribute{Name: bstr(a.name), Values: vals[start:len(vals):len(vals)]})
				}
				if err := w.WriteEntry(&entry); err != nil {
					return refs, err
				}
				n++
				if opts.Progress != nil && n%256 == 0 {
					opts.Progress(w.Entries(), w.Bytes())
				}
			case appSearchReference:
				refs = append(refs, string(m.uris[0])) // the first URI, as go-ldap reports it
			case appIntermediate:
			case appSearchDone:
				break page
			default:
				return fail(fmt.Errorf("%w: response 0x%02x in a search", errBER, m.op))
			}
		}
		if c.m.result.code != 0 {
			return fail(limitErr(resultErr(&c.m.result), paged))
		}
		var pc *rawControl
		for i := range c.m.controls {
			if string(c.m.controls[i].oid) == ldap.ControlTypePaging {
				pc = &c.m.controls[i]
			}
		}
		if pc == nil {
			// A plain search, or a server that ignored the non-critical
			// control (RFC 4511 §4.1.11) and sent every entry: the
			// SearchResultDone with success just read ends the search.
			return refs, nil
		}
		ck, err := pagedCookie(pc.value)
		if err != nil {
			return fail(err)
		}
		if opts.Progress != nil {
			opts.Progress(w.Entries(), w.Bytes())
		}
		if len(ck) == 0 {
			return refs, nil
		}
		cookie = append(cookie[:0], ck...)
	}
}
