package export

// A lean decoder for the LDAP messages of the search phase.
//
// go-ldap decodes every response through go-asn1-ber's generic Packet tree:
// one heap object per BER element, a bytes.Buffer per element and a string
// per value, then a second pass into ldap.Entry. For an export that is most
// of the client's CPU (a profile puts ~60% in ber.readPacket and ~40% in
// allocation and GC). What no library does well is the narrow case an
// export needs: walk the X.690 BER (definite lengths only, as RFC 4511 §5.1
// requires) of SearchResultEntry, SearchResultReference and
// SearchResultDone (RFC 4511 §4.5.2 and §4.5.3) in place, in the read
// buffer, with no per-element object. decodeMessage does that: values are
// sub-slices of the message bytes, valid until the next message is read.

import (
	"errors"
	"fmt"
)

// BER identifier octets (X.690 §8.1.2) of the elements decoded here.
const (
	tagBoolean     = 0x01
	tagInteger     = 0x02
	tagOctetString = 0x04
	tagEnumerated  = 0x0a
	tagSequence    = 0x30 // constructed
	tagSet         = 0x31 // constructed

	// LDAPMessage protocolOp choices (RFC 4511 §4.2-§4.12): [APPLICATION n].
	appBindResponse     = 0x61 // [APPLICATION 1] constructed
	appSearchEntry      = 0x64 // [APPLICATION 4] constructed
	appSearchDone       = 0x65 // [APPLICATION 5] constructed
	appSearchReference  = 0x73 // [APPLICATION 19] constructed
	appExtendedResponse = 0x78 // [APPLICATION 24] constructed
	appIntermediate     = 0x79 // [APPLICATION 25] constructed

	ctxControls = 0xa0 // [0] constructed, Controls in LDAPMessage
	ctxReferral = 0xa3 // [3] constructed, Referral in LDAPResult
)

var errBER = errors.New("malformed BER")

// berErr names what was being decoded.
func berErr(what string) error { return fmt.Errorf("%w: %s", errBER, what) }

// tlv reads one element from b: its identifier octet (single-octet tags
// only: every element LDAP defines fits one), contents and the rest of b.
// Lengths are definite, at most 8 length octets, and never exceed b: an
// absurd length fails here and allocates nothing.
func tlv(b []byte) (tag byte, val, rest []byte, ok bool) {
	if len(b) < 2 || b[0]&0x1f == 0x1f {
		return 0, nil, nil, false
	}
	tag = b[0]
	n := int(b[1])
	b = b[2:]
	if n&0x80 != 0 {
		k := n & 0x7f
		if k == 0 || k > 8 || k > len(b) { // 0: indefinite form, not allowed in LDAP
			return 0, nil, nil, false
		}
		var l uint64
		for _, c := range b[:k] {
			l = l<<8 | uint64(c)
		}
		b = b[k:]
		if l > uint64(len(b)) {
			return 0, nil, nil, false
		}
		n = int(l)
	}
	if n > len(b) {
		return 0, nil, nil, false
	}
	return tag, b[:n], b[n:], true
}

// expect reads one element of tag want.
func expect(b []byte, want byte, what string) (val, rest []byte, err error) {
	tag, val, rest, ok := tlv(b)
	if !ok || tag != want {
		return nil, nil, berErr(what)
	}
	return val, rest, nil
}

// berInt decodes a two's-complement INTEGER or ENUMERATED of at most 8
// octets (X.690 §8.3).
func berInt(v []byte) (int64, bool) {
	if len(v) == 0 || len(v) > 8 {
		return 0, false
	}
	n := int64(int8(v[0]))
	for _, c := range v[1:] {
		n = n<<8 | int64(c)
	}
	return n, true
}

// rawAttr is one PartialAttribute: its type and values, as views.
type rawAttr struct {
	name []byte
	vals [][]byte
}

// rawControl is one Control (RFC 4511 §4.1.11).
type rawControl struct {
	oid      []byte
	critical bool
	value    []byte
	hasValue bool
}

// rawResult is an LDAPResult (RFC 4511 §4.1.9).
type rawResult struct {
	code       int64
	matchedDN  []byte
	diagnostic []byte
	referrals  [][]byte
}

// rawMessage is one decoded LDAPMessage. Its slices are reused from message
// to message and point into the decoded bytes.
type rawMessage struct {
	id       int64
	op       byte
	dn       []byte    // SearchResultEntry objectName
	attrs    []rawAttr // SearchResultEntry attributes
	nattrs   int
	uris     [][]byte // SearchResultReference URIs
	result   rawResult
	controls []rawControl
	name     []byte // ExtendedResponse responseName, if any
}

// decodeMessage decodes body, the contents of one LDAPMessage SEQUENCE
// (RFC 4511 §4.2), into m. It never panics and allocates only to grow m's
// reused slices, by at most one element per element present in body.
func decodeMessage(body []byte, m *rawMessage) error {
	v, rest, err := expect(body, tagInteger, "messageID")
	if err != nil {
		return err
	}
	id, ok := berInt(v)
	if !ok || id < 0 || id > 1<<31-1 {
		return berErr("messageID")
	}
	m.id = id
	tag, op, rest, ok := tlv(rest)
	if !ok {
		return berErr("protocolOp")
	}
	m.op = tag
	m.nattrs = 0
	m.uris = m.uris[:0]
	m.controls = m.controls[:0]
	m.result = rawResult{referrals: m.result.referrals[:0]}
	m.dn, m.name = nil, nil
	switch tag {
	case appSearchEntry:
		err = m.decodeEntry(op)
	case appSearchReference:
		for b := op; len(b) > 0; {
			var u []byte
			if u, b, err = expect(b, tagOctetString, "SearchResultReference URI"); err != nil {
				return err
			}
			m.uris = append(m.uris, u)
		}
		if len(m.uris) == 0 {
			return berErr("empty SearchResultReference")
		}
	case appSearchDone, appBindResponse:
		_, err = m.decodeResult(op)
	case appExtendedResponse:
		var b []byte
		if b, err = m.decodeResult(op); err == nil && len(b) > 0 {
			if t, val, _, ok := tlv(b); ok && t == 0x8a { // [10] responseName
				m.name = val
			}
		}
	case appIntermediate:
		// RFC 4511 §4.13: may appear in a search; nothing for an export.
	default:
		return fmt.Errorf("%w: unexpected protocolOp tag 0x%02x", errBER, tag)
	}
	if err != nil {
		return err
	}
	if len(rest) == 0 {
		return nil
	}
	cs, rest, err := expect(rest, ctxControls, "controls")
	if err != nil {
		return err
	}
	if len(rest) != 0 {
		return berErr("trailing bytes after controls")
	}
	for len(cs) > 0 {
		var c, v []byte
		if c, cs, err = expect(cs, tagSequence, "control"); err != nil {
			return err
		}
		var rc rawControl
		if rc.oid, c, err = expect(c, tagOctetString, "control type"); err != nil {
			return err
		}
		if t, v, r, ok := tlv(c); ok && t == tagBoolean {
			if len(v) != 1 {
				return berErr("control criticality")
			}
			rc.critical, c = v[0] != 0, r
		}
		if len(c) > 0 {
			if v, c, err = expect(c, tagOctetString, "control value"); err != nil {
				return err
			}
			rc.value, rc.hasValue = v, true
		}
		if len(c) != 0 {
			return berErr("trailing bytes in control")
		}
		m.controls = append(m.controls, rc)
	}
	return nil
}

func (m *rawMessage) decodeEntry(b []byte) error {
	var err error
	var list []byte
	if m.dn, b, err = expect(b, tagOctetString, "objectName"); err != nil {
		return err
	}
	if list, b, err = expect(b, tagSequence, "attributes"); err != nil {
		return err
	}
	if len(b) != 0 {
		return berErr("trailing bytes in SearchResultEntry")
	}
	for len(list) > 0 {
		var pa, set []byte
		if pa, list, err = expect(list, tagSequence, "PartialAttribute"); err != nil {
			return err
		}
		if m.nattrs == len(m.attrs) {
			m.attrs = append(m.attrs, rawAttr{})
		}
		a := &m.attrs[m.nattrs]
		a.vals = a.vals[:0]
		if a.name, pa, err = expect(pa, tagOctetString, "attribute type"); err != nil {
			return err
		}
		if set, pa, err = expect(pa, tagSet, "attribute values"); err != nil {
			return err
		}
		if len(pa) != 0 {
			return berErr("trailing bytes in PartialAttribute")
		}
		for len(set) > 0 {
			var v []byte
			if v, set, err = expect(set, tagOctetString, "attribute value"); err != nil {
				return err
			}
			a.vals = append(a.vals, v)
		}
		m.nattrs++
	}
	return nil
}

// decodeResult decodes the LDAPResult components at the start of b and
// returns what follows them (BindResponse and ExtendedResponse add fields).
func (m *rawMessage) decodeResult(b []byte) ([]byte, error) {
	v, b, err := expect(b, tagEnumerated, "resultCode")
	if err != nil {
		return nil, err
	}
	code, ok := berInt(v)
	if !ok || code < 0 || code > 1<<31-1 {
		return nil, berErr("resultCode")
	}
	m.result.code = code
	if m.result.matchedDN, b, err = expect(b, tagOctetString, "matchedDN"); err != nil {
		return nil, err
	}
	if m.result.diagnostic, b, err = expect(b, tagOctetString, "diagnosticMessage"); err != nil {
		return nil, err
	}
	if t, refs, r, ok := tlv(b); ok && t == ctxReferral {
		for len(refs) > 0 {
			var u []byte
			if u, refs, err = expect(refs, tagOctetString, "referral URI"); err != nil {
				return nil, err
			}
			m.result.referrals = append(m.result.referrals, u)
		}
		b = r
	}
	return b, nil
}

// pagedCookie decodes an RFC 2696 control value
// realSearchControlValue ::= SEQUENCE { size INTEGER, cookie OCTET STRING }.
func pagedCookie(v []byte) ([]byte, error) {
	seq, rest, err := expect(v, tagSequence, "paged results value")
	if err != nil || len(rest) != 0 {
		return nil, berErr("paged results value")
	}
	if _, seq, err = expect(seq, tagInteger, "paged results size"); err != nil {
		return nil, err
	}
	cookie, seq, err := expect(seq, tagOctetString, "paged results cookie")
	if err != nil || len(seq) != 0 {
		return nil, berErr("paged results cookie")
	}
	return cookie, nil
}
