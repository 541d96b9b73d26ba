package export

import (
	"bytes"
	"context"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
	"weak"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/go-ldap/ldap/v3"

	"mswizard/fixtures/ldapd"
)

// TestLeanDecoderMatchesGoLDAP: on real slapd with the seeded data
// (non-ASCII DN and values, binary photos, leading/trailing spaces, long and
// multi-valued attributes, a referral), the lean path and go-ldap's
// SearchAsync write byte-identical files, over several pages and with an
// attribute list and filter.
func TestLeanDecoderMatchesGoLDAP(t *testing.T) {
	t.Parallel()
	s := ldapd.RequireOpenLDAP(t, ldapd.Options{Dir: t.TempDir(), SeedLDIF: writeSeed(t, 700)})
	c := dialRoot(t, s)
	if endpointOf(c) == nil {
		t.Fatal("a connection from Dial has no endpoint: the lean path would not run")
	}
	ref := "ldap://ldap.elsewhere.example/ou=Elsewhere,o=siroe.com"
	add := ldap.NewAddRequest("ou=Elsewhere,o=siroe.com", nil)
	add.Attribute("objectClass", []string{"referral", "extensibleObject"})
	add.Attribute("ou", []string{"Elsewhere"})
	add.Attribute("ref", []string{ref})
	if err := c.Add(add); err != nil {
		t.Fatal(err)
	}
	specs := append(fullSpecs(), DefaultSpecs("o=siroe.com", fixed)...)
	specs = append(specs,
		Spec{Name: "attrs", Base: "o=siroe.com", Filter: "(|(uid=user00*)(cn=*ü*))", Attributes: []string{"cn", "jpegPhoto", "description", "mail"}, File: "attrs.ldif"},
		Spec{Name: "one", Base: "o=siroe.com", Scope: ScopeOne, File: "one.ldif"},
		Spec{Name: "base", Base: "o=siroe.com", Scope: ScopeBase, File: "base.ldif"},
		Spec{Name: "none", Base: "o=siroe.com", Filter: "(uid=nobody-here)", File: "none.ldif"},
	)
	for _, sp := range specs {
		for _, page := range []int{7, 1000} {
			lean, golib := t.TempDir(), t.TempDir()
			opts := Options{PageSize: page, Server: s.URL, AllowReferrals: true, Now: func() time.Time { return fixed }}
			before := endpointOf(c).searches.Load()
			r1, err := Export(context.Background(), c, sp, lean, opts)
			if err != nil {
				t.Fatalf("%s lean: %v", sp.Name, err)
			}
			if endpointOf(c).searches.Load() != before+1 {
				t.Fatalf("%s: the lean path did not run", sp.Name)
			}
			opts.GoLDAPDecoder = true
			r2, err := Export(context.Background(), c, sp, golib, opts)
			if err != nil {
				t.Fatalf("%s go-ldap: %v", sp.Name, err)
			}
			if endpointOf(c).searches.Load() != before+1 {
				t.Fatalf("%s: GoLDAPDecoder took the lean path", sp.Name)
			}
			a, _ := os.ReadFile(r1.Path)
			b, _ := os.ReadFile(r2.Path)
			if !bytes.Equal(a, b) || r1.SHA256 != r2.SHA256 || r1.Entries != r2.Entries || strings.Join(r1.Referrals, " ") != strings.Join(r2.Referrals, " ") {
				t.Errorf("%s (pages of %d): lean %d entries %d bytes %v, go-ldap %d entries %d bytes %v: files differ",
					sp.Name, page, r1.Entries, len(a), r1.Referrals, r2.Entries, len(b), r2.Referrals)
			}
			if sp.Name == "siroe" && (r1.Entries < 700 || len(r1.Referrals) != 1) {
				t.Errorf("siroe: %d entries, referrals %v", r1.Entries, r1.Referrals)
			}
		}
	}
}

// berMessage encodes an LDAPMessage as go-asn1-ber does.
func berMessage(id int64, op *ber.Packet, controls ...*ber.Packet) []byte {
	p := envelope(id)
	p.AppendChild(op)
	if len(controls) > 0 {
		c := ber.Encode(ber.ClassContext, ber.TypeConstructed, 0, nil, "Controls")
		for _, x := range controls {
			c.AppendChild(x)
		}
		p.AppendChild(c)
	}
	return p.Bytes()
}

func octets(s string) *ber.Packet {
	return ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, s, "")
}

func sampleMessages() [][]byte {
	e := ber.Encode(ber.ClassApplication, ber.TypeConstructed, ldap.ApplicationSearchResultEntry, nil, "")
	e.AppendChild(octets("uid=ü,o=x"))
	attrs := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "")
	for _, a := range [][]string{{"cn", "a", "b"}, {"jpegPhoto", strings.Repeat("\x00\xff", 200)}, {"empty"}} {
		pa := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "")
		pa.AppendChild(octets(a[0]))
		set := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSet, nil, "")
		for _, v := range a[1:] {
			set.AppendChild(octets(v))
		}
		pa.AppendChild(set)
		attrs.AppendChild(pa)
	}
	e.AppendChild(attrs)
	d := ber.Encode(ber.ClassApplication, ber.TypeConstructed, ldap.ApplicationSearchResultDone, nil, "")
	d.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagEnumerated, 0, ""))
	d.AppendChild(octets(""))
	d.AppendChild(octets(""))
	pc := (&pagingControl{size: 10, cookie: []byte("cookie\x00")}).Encode()
	r := ber.Encode(ber.ClassApplication, ber.TypeConstructed, ldap.ApplicationSearchResultReference, nil, "")
	r.AppendChild(octets("ldap://a/"))
	r.AppendChild(octets("ldap://b/"))
	return [][]byte{berMessage(2, e), berMessage(2, d, pc), berMessage(3, r)}
}

// TestDecodeMessage checks the decoder against go-asn1-ber's encoding.
func TestDecodeMessage(t *testing.T) {
	msgs := sampleMessages()
	var stream []byte
	for _, m := range msgs {
		stream = append(stream, m...)
	}
	r := newMsgReader(bytes.NewReader(stream))
	var m rawMessage
	body, err := r.next()
	if err != nil || decodeMessage(body, &m) != nil {
		t.Fatal(err)
	}
	if m.id != 2 || m.op != appSearchEntry || string(m.dn) != "uid=ü,o=x" || m.nattrs != 3 ||
		string(m.attrs[0].name) != "cn" || len(m.attrs[0].vals) != 2 || string(m.attrs[0].vals[1]) != "b" ||
		len(m.attrs[1].vals[0]) != 400 || len(m.attrs[2].vals) != 0 {
		t.Errorf("entry: %+v", m)
	}
	if body, err = r.next(); err != nil || decodeMessage(body, &m) != nil {
		t.Fatal(err)
	}
	if m.op != appSearchDone || m.result.code != 0 || len(m.controls) != 1 || m.controls[0].critical ||
		string(m.controls[0].oid) != ldap.ControlTypePaging {
		t.Fatalf("done: %+v", m)
	}
	if ck, err := pagedCookie(m.controls[0].value); err != nil || string(ck) != "cookie\x00" {
		t.Errorf("cookie %q %v", ck, err)
	}
	if body, err = r.next(); err != nil || decodeMessage(body, &m) != nil {
		t.Fatal(err)
	}
	if m.op != appSearchReference || len(m.uris) != 2 || string(m.uris[1]) != "ldap://b/" {
		t.Errorf("reference: %+v", m)
	}
	if _, err := r.next(); err == nil {
		t.Error("read past the end")
	}
	// Every truncation of a valid message fails cleanly.
	for _, msg := range msgs {
		for i := range msg {
			if _, err := newMsgReader(bytes.NewReader(msg[:i])).next(); err == nil {
				t.Errorf("truncated to %d of %d bytes: no error", i, len(msg))
			}
		}
	}
}

// TestAbsurdLength: a header announcing ~1 GiB followed by a few bytes
// fails without allocating the announced size.
func TestAbsurdLength(t *testing.T) {
	for _, hdr := range [][]byte{{0x30, 0x84, 0x3f, 0xff, 0xff, 0xff}, {0x30, 0x84, 0xff, 0xff, 0xff, 0xff}, {0x30, 0x88, 1, 0, 0, 0, 0, 0, 0, 0}} {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		before := ms.TotalAlloc
		_, err := newMsgReader(bytes.NewReader(append(hdr, 2, 1, 1, 0x65))).next()
		runtime.ReadMemStats(&ms)
		if err == nil {
			t.Errorf("% x: no error", hdr)
		}
		if grew := ms.TotalAlloc - before; grew > 4<<20 {
			t.Errorf("% x: allocated %d bytes", hdr, grew)
		}
	}
	var m rawMessage
	if err := decodeMessage([]byte{2, 1, 1, 0x64, 0x84, 0x7f, 0xff, 0xff, 0xff, 4, 0}, &m); err == nil {
		t.Error("an element longer than its message decoded")
	}
}

// FuzzDecodeMessage: arbitrary bytes never panic the framer or the
// decoder, and memory grows with the input, not with announced lengths.
func FuzzDecodeMessage(f *testing.F) {
	for _, m := range sampleMessages() {
		f.Add(m)
		f.Add(m[2:])
	}
	f.Add([]byte{0x30, 0x84, 0xff, 0xff, 0xff, 0xff, 2, 1, 1})
	f.Fuzz(func(t *testing.T, data []byte) {
		var m rawMessage
		decodeMessage(data, &m)
		if m.nattrs > len(data) || len(m.controls) > len(data) || len(m.uris) > len(data) {
			t.Fatalf("%d attrs, %d controls from %d bytes", m.nattrs, len(m.controls), len(data))
		}
		r := newMsgReader(bytes.NewReader(data))
		for range 4 {
			body, err := r.next()
			if cap(r.big) > 2*len(data)+readBufSize {
				t.Fatalf("buffer of %d bytes for %d input bytes", cap(r.big), len(data))
			}
			if err != nil {
				return
			}
			if decodeMessage(body, &m) == nil && m.op == appSearchDone {
				for _, c := range m.controls {
					pagedCookie(c.value)
				}
			}
		}
	})
}

// TestLeanFallback: when the second connection cannot bind, Export uses the
// caller's connection with go-ldap and still succeeds.
func TestLeanFallback(t *testing.T) {
	t.Parallel()
	s := ldapd.RequireOpenLDAP(t, ldapd.Options{Dir: t.TempDir(), SeedLDIF: seedFile(t)})
	c := dialRoot(t, s)
	ep := endpointOf(c)
	bad := &endpoint{addr: ep.addr, bind: Bind{DN: ep.bind.DN, Password: "wrong"}, timeout: ep.timeout}
	dialed.Store(weak.Make(c), bad)
	r, err := Export(context.Background(), c, siroeAll, t.TempDir(), Options{})
	siroe, _ := ldapd.SeedCounts(testUsers)
	if err != nil || r.Entries != siroe || bad.searches.Load() != 0 {
		t.Errorf("fallback: %+v %v, %d lean searches", r, err, bad.searches.Load())
	}
}

// TestBigMessage: a message larger than the read buffer is framed through
// the growing buffer, and the buffer is dropped after it.
func TestBigMessage(t *testing.T) {
	e := ber.Encode(ber.ClassApplication, ber.TypeConstructed, ldap.ApplicationSearchResultEntry, nil, "")
	e.AppendChild(octets("cn=big"))
	attrs := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "")
	pa := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "")
	pa.AppendChild(octets("jpegPhoto"))
	set := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSet, nil, "")
	big := strings.Repeat("\x01\x02\x03", 1<<20)
	set.AppendChild(octets(big))
	pa.AppendChild(set)
	attrs.AppendChild(pa)
	e.AppendChild(attrs)
	stream := append(berMessage(5, e), sampleMessages()[0]...)
	r := newMsgReader(bytes.NewReader(stream))
	var m rawMessage
	body, err := r.next()
	if err != nil || decodeMessage(body, &m) != nil || string(m.attrs[0].vals[0]) != big {
		t.Fatalf("big entry: %v", err)
	}
	if body, err = r.next(); err != nil || decodeMessage(body, &m) != nil || m.id != 2 || r.big != nil {
		t.Fatalf("after the big entry: %v, id %d, buffer kept %d", err, m.id, cap(r.big))
	}
}
