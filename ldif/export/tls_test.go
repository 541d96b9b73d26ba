package export

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/go-ldap/ldap/v3"

	"mswizard/fixtures/ldapd"
)

// tlsFront puts TLS in front of a plain LDAP server: from the first byte
// (ldaps) or after answering a StartTLS extended request itself. It
// returns its address, the CA file and a count of the TLS sessions served.
func tlsFront(t *testing.T, backend string, startTLS bool) (string, string, *atomic.Int64) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var sessions atomic.Int64
	serve := func(c net.Conn) {
		defer c.Close()
		if startTLS {
			r := newMsgReader(c)
			body, err := r.next()
			if err != nil {
				return
			}
			v, rest, err := expect(body, tagInteger, "id")
			id, _ := berInt(v)
			if tag, _, _, ok := tlv(rest); err != nil || !ok || tag != 0x77 {
				return
			}
			resp := ber.Encode(ber.ClassApplication, ber.TypeConstructed, ldap.ApplicationExtendedResponse, nil, "")
			resp.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagEnumerated, 0, ""))
			resp.AppendChild(octets(""))
			resp.AppendChild(octets(""))
			if _, err := c.Write(berMessage(id, resp)); err != nil {
				return
			}
		}
		tc := tls.Server(c, cfg)
		if err := tc.Handshake(); err != nil {
			return
		}
		sessions.Add(1)
		b, err := net.Dial("tcp", backend)
		if err != nil {
			return
		}
		defer b.Close()
		go func() { io.Copy(b, tc); b.Close() }()
		io.Copy(tc, b)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go serve(c)
		}
	}()
	return ln.Addr().String(), ca, &sessions
}

// TestLeanPathTLS: with ldaps:// and with StartTLS (CA file checked), the
// lean path opens its own TLS session and writes the same file as go-ldap.
func TestLeanPathTLS(t *testing.T) {
	t.Parallel()
	s := ldapd.RequireOpenLDAP(t, ldapd.Options{Dir: t.TempDir(), SeedLDIF: seedFile(t)})
	u, err := url.Parse(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	for _, startTLS := range []bool{false, true} {
		addr, ca, sessions := tlsFront(t, u.Host, startTLS)
		scheme := "ldaps://"
		if startTLS {
			scheme = "ldap://"
		}
		c, err := Dial(context.Background(), scheme+addr, Bind{DN: s.RootDN, Password: Secret(s.RootPW)},
			TLS{CAFile: ca, StartTLS: startTLS}, DialOptions{Timeout: 10 * time.Second})
		if err != nil {
			t.Fatalf("starttls %v: %v", startTLS, err)
		}
		defer c.Close()
		opts := Options{PageSize: 13, Now: func() time.Time { return fixed }}
		before := endpointOf(c).searches.Load()
		r1, err := Export(context.Background(), c, siroeAll, t.TempDir(), opts)
		if err != nil {
			t.Fatalf("starttls %v: lean: %v", startTLS, err)
		}
		opts.GoLDAPDecoder = true
		r2, err := Export(context.Background(), c, siroeAll, t.TempDir(), opts)
		if err != nil {
			t.Fatalf("starttls %v: go-ldap: %v", startTLS, err)
		}
		a, _ := os.ReadFile(r1.Path)
		b, _ := os.ReadFile(r2.Path)
		if !bytes.Equal(a, b) || r1.Entries == 0 {
			t.Errorf("starttls %v: files differ (%d, %d entries)", startTLS, r1.Entries, r2.Entries)
		}
		if endpointOf(c).searches.Load() != before+1 || sessions.Load() != 2 {
			t.Errorf("starttls %v: %d lean searches, %d TLS sessions; want 1 and 2", startTLS, endpointOf(c).searches.Load()-before, sessions.Load())
		}
	}
}
