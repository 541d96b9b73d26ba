package export

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// Secret is a password that prints as REDACTED (fmt verbs, JSON, text), so
// it cannot leak into a header, an error or a log by accident.
type Secret string

func (Secret) String() string               { return "REDACTED" }
func (Secret) GoString() string             { return "REDACTED" }
func (Secret) MarshalText() ([]byte, error) { return []byte("REDACTED"), nil }
func (s Secret) reveal() string             { return string(s) }

// Bind is an RFC 4513 §5.1.3 simple bind. An empty DN binds nobody
// (anonymous access); a DN with an empty password is refused.
type Bind struct {
	DN       string
	Password Secret
}

// TLS says how to protect the connection. ldaps:// URLs use TLS from the
// first byte; StartTLS upgrades an ldap:// connection (RFC 4513 §3).
// Certificates are checked against CAFile (PEM), or the system roots when
// CAFile is empty; InsecureSkipVerify turns checking off and must be an
// explicit operator choice.
type TLS struct {
	CAFile             string
	StartTLS           bool
	InsecureSkipVerify bool
	ServerName         string // default: the URL's host
}

// DialOptions bounds the connection's waits.
type DialOptions struct {
	// Timeout bounds the TCP connect, the TLS handshake and each LDAP
	// request (bind, StartTLS, one search page); default 30 s.
	Timeout time.Duration
}

// Dial connects to rawURL (ldap:// or ldaps://, RFC 4516), optionally
// upgrades with StartTLS, and binds. It fails within opts.Timeout (or when
// ctx ends) on a server that accepts the connection but never answers.
// Errors name the URL without credentials and never hold the password.
func Dial(ctx context.Context, rawURL string, bind Bind, tlsOpts TLS, opts DialOptions) (*ldap.Conn, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("ldap dial: bad url: %w", errors.Unwrap(err))
	}
	safe := redactURL(rawURL)
	fail := func(err error) (*ldap.Conn, error) { return nil, fmt.Errorf("ldap dial %s: %w", safe, err) }
	if u.Scheme != "ldap" && u.Scheme != "ldaps" {
		return fail(fmt.Errorf("scheme %q is not ldap or ldaps", u.Scheme))
	}
	if u.Scheme == "ldaps" && tlsOpts.StartTLS {
		return fail(errors.New("StartTLS on an ldaps:// connection"))
	}
	host, port := u.Hostname(), u.Port()
	if host == "" {
		host = "localhost"
	}
	if port == "" {
		port = map[string]string{"ldap": "389", "ldaps": "636"}[u.Scheme]
	}
	var tc *tls.Config
	if u.Scheme == "ldaps" || tlsOpts.StartTLS {
		if tc, err = tlsConfig(host, tlsOpts); err != nil {
			return fail(err)
		}
	}
	dctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	var d net.Dialer
	nc, err := d.DialContext(dctx, "tcp", net.JoinHostPort(host, port))
	if err != nil {
		return fail(err)
	}
	isTLS := false
	if u.Scheme == "ldaps" {
		t := tls.Client(nc, tc)
		if err := t.HandshakeContext(dctx); err != nil {
			nc.Close()
			return fail(fmt.Errorf("tls: %w", err))
		}
		nc, isTLS = t, true
	}
	c := ldap.NewConn(nc, isTLS)
	c.Start()
	c.SetTimeout(opts.Timeout)
	// Close the connection if ctx ends while we wait for the server.
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	if tlsOpts.StartTLS {
		if err := c.StartTLS(tc); err != nil {
			c.Close()
			return fail(fmt.Errorf("starttls: %w", ctxErr(ctx, err)))
		}
	}
	if bind.DN != "" {
		if err := c.Bind(bind.DN, bind.Password.reveal()); err != nil {
			c.Close()
			return fail(fmt.Errorf("bind as %q: %w", bind.DN, ctxErr(ctx, err)))
		}
	}
	remember(c, &endpoint{addr: net.JoinHostPort(host, port), ldaps: u.Scheme == "ldaps", startTLS: tlsOpts.StartTLS,
		tc: tc, bind: bind, timeout: opts.Timeout})
	return c, nil
}

func ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return errors.Join(ctx.Err(), err)
	}
	return err
}

func tlsConfig(host string, o TLS) (*tls.Config, error) {
	tc := &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12, InsecureSkipVerify: o.InsecureSkipVerify}
	if o.ServerName != "" {
		tc.ServerName = o.ServerName
	}
	if o.CAFile != "" {
		pem, err := os.ReadFile(o.CAFile)
		if err != nil {
			return nil, fmt.Errorf("ca file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ca file %s: no PEM certificate", o.CAFile)
		}
		tc.RootCAs = pool
	}
	return tc, nil
}

// redactURL drops any userinfo from an LDAP URL so it is safe to print.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable url)"
	}
	u.User = nil
	return u.String()
}
