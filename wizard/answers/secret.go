package answers

import (
	"fmt"
	"log/slog"
)

// Secret is a password or other credential. It prints as REDACTED in every form —
// fmt verbs, JSON, slog — so it cannot leak into a plan, journal, log or report.
// Only Reveal gives the value, for the 0600 file or stdin that carries it to a
// child process or an LDAP bind.
type Secret struct{ v string }

// NewSecret wraps a value.
func NewSecret(v string) Secret { return Secret{v: v} }

// Reveal returns the secret's value.
func (s Secret) Reveal() string { return s.v }

// IsZero says whether no secret was given.
func (s Secret) IsZero() bool { return s.v == "" }

const redacted = "REDACTED"

func (s Secret) String() string                { return redacted }
func (s Secret) GoString() string              { return redacted }
func (s Secret) MarshalJSON() ([]byte, error)  { return []byte(`"` + redacted + `"`), nil }
func (s Secret) MarshalText() ([]byte, error)  { return []byte(redacted), nil }
func (s Secret) LogValue() slog.Value          { return slog.StringValue(redacted) }
func (s Secret) Format(f fmt.State, verb rune) { _, _ = f.Write([]byte(redacted)) }
