package bolt

import (
	"encoding/json"

	"github.com/vigil-auth/vigil/storage"
)

// The binary forms of the hot-path records. Field order is fixed: append
// new fields at the end of both functions. TestCodecRoundTrip fails when a
// record gains a field that these functions do not carry.

func encodeToken(t *storage.Token) []byte {
	e := newEncoder()
	for _, s := range []string{t.ID, t.Kind, t.Format, t.ClientID, t.Subject, t.SessionID, t.ParentID, t.FamilyID} {
		e.str(s)
	}
	e.strs(t.Scopes)
	e.strs(t.Audiences)
	e.strs(t.Actors)
	e.strs(t.MayAct)
	e.str(t.JKT)
	e.time(t.IssuedAt)
	e.time(t.NotBefore)
	e.time(t.ExpiresAt)
	e.time(t.RevokedAt)
	e.time(t.RotatedAt)
	e.str(t.SuccessorID)
	return e.b
}

func decodeToken(data []byte, t *storage.Token) error {
	d := newDecoder(data)
	t.ID, t.Kind, t.Format, t.ClientID = d.str(), d.str(), d.str(), d.str()
	t.Subject, t.SessionID, t.ParentID, t.FamilyID = d.str(), d.str(), d.str(), d.str()
	t.Scopes, t.Audiences, t.Actors, t.MayAct = d.strs(), d.strs(), d.strs(), d.strs()
	t.JKT = d.str()
	t.IssuedAt, t.NotBefore, t.ExpiresAt, t.RevokedAt, t.RotatedAt = d.time(), d.time(), d.time(), d.time(), d.time()
	t.SuccessorID = d.str()
	return d.done()
}

func encodeSession(s *storage.Session) []byte {
	e := newEncoder()
	for _, v := range []string{s.ID, s.ClientID, s.Subject, s.Origin} {
		e.str(v)
	}
	e.time(s.CreatedAt)
	e.time(s.ExpiresAt)
	e.str(s.Status)
	e.time(s.TerminatedAt)
	for _, v := range []string{s.Reason, s.JKT, s.Issuer} {
		e.str(v)
	}
	e.uvarint(uint64(len(s.Facts)))
	for _, f := range s.Facts {
		e.str(f.Code)
		e.int(int64(f.Points))
		e.time(f.At)
		e.str(f.Detail)
	}
	e.int(int64(s.Challenges))
	e.int(int64(s.FailedChallenges))
	return e.b
}

func decodeSession(data []byte, s *storage.Session) error {
	d := newDecoder(data)
	s.ID, s.ClientID, s.Subject, s.Origin = d.str(), d.str(), d.str(), d.str()
	s.CreatedAt, s.ExpiresAt = d.time(), d.time()
	s.Status = d.str()
	s.TerminatedAt = d.time()
	s.Reason, s.JKT, s.Issuer = d.str(), d.str(), d.str()
	if n := d.length(); n > 0 {
		s.Facts = make([]storage.Fact, n)
		for i := range s.Facts {
			f := &s.Facts[i]
			f.Code, f.Points, f.At, f.Detail = d.str(), int(d.int()), d.time(), d.str()
		}
	}
	s.Challenges, s.FailedChallenges = int(d.int()), int(d.int())
	return d.done()
}

func encodeClient(c *storage.Client) []byte {
	e := newEncoder()
	for _, v := range []string{c.ID, c.Kind, c.SecretHash} {
		e.str(v)
	}
	e.bytes(c.JWKS)
	e.str(c.JWKSURI)
	for _, ss := range [][]string{c.GrantTypes, c.Scopes, c.Audiences, c.Introspect} {
		e.strs(ss)
	}
	e.str(c.TokenFormat)
	e.int(int64(c.AccessTokenTTL))
	e.int(int64(c.RefreshTokenTTL))
	e.int(int64(c.ExchangeTTL))
	e.strs(c.MayAct)
	e.bool(c.Impersonation)
	e.bool(c.Schedule != nil)
	if c.Schedule != nil {
		e.str(c.Schedule.Days)
		e.str(c.Schedule.Hours)
		e.str(c.Schedule.TZ)
	}
	e.strs(c.Networks)
	e.strs(c.Purposes)
	e.bool(c.DPoP)
	e.bool(c.Disabled)
	e.time(c.CreatedAt)
	e.time(c.UpdatedAt)
	encodeClientExt(e, c)
	return e.b
}

// clientExt holds the client members added after the binary form was fixed.
// It follows the fixed members as one JSON value, written only when some
// member is set, so records written before a member existed still decode.
// A member added to storage.Client later belongs here.
type clientExt struct {
	AssertionCompat *assertionCompat `json:"assertion_compat,omitempty"`
	Source          string           `json:"source,omitempty"`
}

// assertionCompat is storage.AssertionCompat with its duration in nanoseconds.
type assertionCompat struct {
	TokenEndpointAudience bool  `json:"tea,omitempty"`
	MaxLifetime           int64 `json:"max,omitempty"`
}

func encodeClientExt(e *encoder, c *storage.Client) {
	ext := clientExt{Source: c.Source}
	if a := c.AssertionCompat; a != nil {
		ext.AssertionCompat = &assertionCompat{TokenEndpointAudience: a.TokenEndpointAudience, MaxLifetime: int64(a.MaxLifetime)}
	}
	if ext == (clientExt{}) {
		return
	}
	b, err := json.Marshal(ext)
	if err != nil {
		panic(err) // unreachable: clientExt holds only booleans, numbers and strings
	}
	e.bytes(b)
}

func decodeClientExt(d *decoder, c *storage.Client) {
	if !d.more() {
		return
	}
	var ext clientExt
	if err := json.Unmarshal(d.bytes(), &ext); err != nil {
		d.fail()
		return
	}
	c.Source = ext.Source
	if a := ext.AssertionCompat; a != nil {
		c.AssertionCompat = &storage.AssertionCompat{TokenEndpointAudience: a.TokenEndpointAudience, MaxLifetime: storage.Duration(a.MaxLifetime)}
	}
}

func decodeClient(data []byte, c *storage.Client) error {
	d := newDecoder(data)
	c.ID, c.Kind, c.SecretHash = d.str(), d.str(), d.str()
	c.JWKS = d.bytes()
	c.JWKSURI = d.str()
	c.GrantTypes, c.Scopes, c.Audiences, c.Introspect = d.strs(), d.strs(), d.strs(), d.strs()
	c.TokenFormat = d.str()
	c.AccessTokenTTL, c.RefreshTokenTTL = storage.Duration(d.int()), storage.Duration(d.int())
	c.ExchangeTTL = storage.Duration(d.int())
	c.MayAct = d.strs()
	c.Impersonation = d.bool()
	if d.bool() {
		c.Schedule = &storage.Schedule{Days: d.str(), Hours: d.str(), TZ: d.str()}
	}
	c.Networks, c.Purposes = d.strs(), d.strs()
	c.DPoP, c.Disabled = d.bool(), d.bool()
	c.CreatedAt, c.UpdatedAt = d.time(), d.time()
	decodeClientExt(&d, c)
	return d.done()
}

// Events and audit records were JSON before they had a binary form; a
// stored value starting with '{' is still read as JSON.

func isJSON(data []byte) bool { return len(data) > 0 && data[0] == '{' }

func encodeEvent(ev *storage.Event) []byte {
	e := newEncoder()
	e.str(ev.SessionID)
	e.uvarint(ev.Seq)
	e.time(ev.At)
	for _, v := range []string{ev.Type, ev.ClientID, ev.Detail} {
		e.str(v)
	}
	e.int(int64(ev.Score))
	e.str(ev.Level)
	e.str(ev.Action)
	e.uvarint(uint64(len(ev.Reasons)))
	for _, r := range ev.Reasons {
		e.str(r.Code)
		e.int(int64(r.Points))
		e.str(r.Evidence)
	}
	return e.b
}

func decodeEvent(data []byte, ev *storage.Event) error {
	if isJSON(data) {
		return json.Unmarshal(data, ev)
	}
	d := newDecoder(data)
	ev.SessionID, ev.Seq, ev.At = d.str(), d.uvarint(), d.time()
	ev.Type, ev.ClientID, ev.Detail = d.str(), d.str(), d.str()
	ev.Score, ev.Level, ev.Action = int(d.int()), d.str(), d.str()
	if n := d.length(); n > 0 {
		ev.Reasons = make([]storage.Reason, n)
		for i := range ev.Reasons {
			r := &ev.Reasons[i]
			r.Code, r.Points, r.Evidence = d.str(), int(d.int()), d.str()
		}
	}
	return d.done()
}

func encodeAudit(a *storage.AuditRecord) []byte {
	e := newEncoder()
	e.uvarint(a.Seq)
	e.time(a.At)
	for _, v := range []string{a.Type, a.ClientID, a.SessionID, a.Outcome, a.Reason, a.Detail, a.Actor} {
		e.str(v)
	}
	return e.b
}

func decodeAudit(data []byte, a *storage.AuditRecord) error {
	if isJSON(data) {
		return json.Unmarshal(data, a)
	}
	d := newDecoder(data)
	a.Seq, a.At = d.uvarint(), d.time()
	a.Type, a.ClientID, a.SessionID, a.Outcome, a.Reason, a.Detail = d.str(), d.str(), d.str(), d.str(), d.str(), d.str()
	a.Actor = d.str() // absent in records written before it existed: ""
	return d.done()
}
