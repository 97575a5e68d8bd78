package ssf

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"time"

	"github.com/vigil-auth/vigil/keys"
)

// SET media type and JWS typ (RFC 8417 §2.3, RFC 8935 §2).
const (
	ContentTypeSET = "application/secevent+jwt"
	TypSET         = "secevent+jwt"
)

// Event type URIs.
const (
	caep = "https://schemas.openid.net/secevent/caep/event-type/"
	risc = "https://schemas.openid.net/secevent/risc/event-type/"

	EventSessionRevoked       = caep + "session-revoked"
	EventCredentialChange     = caep + "credential-change"
	EventTokenClaimsChange    = caep + "token-claims-change"
	EventRiskLevelChange      = caep + "risk-level-change"
	EventAssuranceLevelChange = caep + "assurance-level-change"

	EventAccountDisabled         = risc + "account-disabled"
	EventAccountPurged           = risc + "account-purged"
	EventCredentialCompromise    = risc + "credential-compromise"
	EventAccountCredentialChange = risc + "account-credential-change-required"
	EventRISCSessionsRevoked     = risc + "sessions-revoked"
	EventVerification            = "https://schemas.openid.net/secevent/ssf/event-type/verification"
	EventStreamUpdated           = "https://schemas.openid.net/secevent/ssf/event-type/stream-updated"
)

// Transmitted lists the event types Vigil transmits (events_supported).
var Transmitted = []string{EventSessionRevoked, EventCredentialChange, EventTokenClaimsChange,
	EventRiskLevelChange, EventAssuranceLevelChange}

// Subject is an RFC 9493 subject identifier, or an SSF complex subject
// (SSF 1.0 §3.2) whose members are themselves identifiers.
type Subject struct {
	Format string `json:"format"`
	ID     string `json:"id,omitempty"`  // opaque
	Iss    string `json:"iss,omitempty"` // iss_sub
	Sub    string `json:"sub,omitempty"` // iss_sub
	Email  string `json:"email,omitempty"`
	URI    string `json:"uri,omitempty"`
	// Members of a complex subject.
	Session     *Subject `json:"session,omitempty"`
	User        *Subject `json:"user,omitempty"`
	Application *Subject `json:"application,omitempty"`
	Tenant      *Subject `json:"tenant,omitempty"`
}

// Subject formats Vigil reads and writes.
const (
	FormatOpaque  = "opaque"
	FormatIssSub  = "iss_sub"
	FormatComplex = "complex"
	FormatEmail   = "email"
	FormatURI     = "uri"
)

// sessionSubject names one of Vigil's sessions: the opaque session ID
// (the sid of its tokens and introspection answers) and, as the user, the
// client the session belongs to, as iss_sub with Vigil's issuer.
func sessionSubject(iss, sid, clientID string) *Subject {
	return &Subject{Format: FormatComplex, Session: &Subject{Format: FormatOpaque, ID: sid},
		User: clientSubject(iss, clientID)}
}

// clientSubject names a registered client: iss_sub with Vigil's issuer
// and the client ID (the sub of its own tokens).
func clientSubject(iss, clientID string) *Subject {
	return &Subject{Format: FormatIssSub, Iss: iss, Sub: clientID}
}

// Claims is a Security Event Token's claim set (RFC 8417 §2.2, SSF 1.0 §4).
type Claims struct {
	Issuer   string                     `json:"iss"`
	Audience keys.Audience              `json:"aud,omitempty"`
	IssuedAt int64                      `json:"iat"`
	JTI      string                     `json:"jti"`
	TxN      string                     `json:"txn,omitempty"`
	TOE      int64                      `json:"toe,omitempty"`
	SubID    *Subject                   `json:"sub_id,omitempty"`
	Events   map[string]json.RawMessage `json:"events"`
	// Exp is refused when present and past; SETs normally have none.
	Exp *int64 `json:"exp,omitempty"`
	// Sub is the JWT subject, which SSF replaces with sub_id.
	Sub string `json:"sub,omitempty"`
}

// newID returns 128 random bits, base64url: a jti or txn.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// reasonText is a CAEP reason_admin / reason_user member: text by language tag.
func reasonText(s string) map[string]string {
	if s == "" {
		return nil
	}
	return map[string]string{"en": s}
}

// unix returns t in NumericDate seconds.
func unix(t time.Time) int64 { return t.Unix() }
