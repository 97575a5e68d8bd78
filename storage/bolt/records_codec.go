package bolt

import (
	"encoding/json"
	"time"

	"github.com/vigil-auth/vigil/storage"
)

// The binary forms of the hot-path records. Field order is fixed: append
// new fields at the end of both functions. TestCodecRoundTrip fails when a
// record gains a field that these functions do not carry.

// Tokens and sessions, the records of the buckets keyed at random (every
// new one lands on an arbitrary page), are written in a second, tighter
// form (codecV2): the record's ID is its key and is not repeated; a
// subject equal to the client, a family equal to the token, a start equal to
// the issue time are flags; an expiry is a duration from the issue (or
// creation) time; well-known kinds, formats and statuses are small codes;
// unset optional times are absent. Records written in the first form
// (codecV1) are still read.

// Flags of a codecV2 token.
const (
	tokSubjectIsClient = 1 << iota
	tokFamilyIsSelf
	tokStartsAtIssue
	tokExpiryAsDuration
	tokRevoked
	tokRotated
)

// Flags of a codecV2 session.
const (
	sessSubjectIsClient = 1 << iota
	sessExpiryAsDuration
	sessTerminated
)

var (
	tokenKinds      = []string{"", storage.AccessToken, storage.RefreshToken}
	tokenFormats    = []string{"", "opaque", "jwt", "txn"}
	sessionStatuses = []string{"", storage.SessionActive, storage.SessionTerminated}
)

// code writes s as its index in known (from 1), or 0 and s.
func (e *encoder) code(s string, known []string) {
	for i, k := range known[1:] {
		if s == k {
			e.uvarint(uint64(i + 1))
			return
		}
	}
	e.uvarint(0)
	e.str(s)
}

func (d *decoder) code(known []string) string {
	n := d.uvarint()
	if n == 0 {
		return d.str()
	}
	if n >= uint64(len(known)) {
		d.fail()
		return ""
	}
	return known[n]
}

// sinceOK reports whether t is exactly from plus t.Sub(from): then t is
// stored as that duration.
func sinceOK(from, t time.Time) bool {
	from, t = from.Round(0), t.Round(0) // wall clock only
	return !from.IsZero() && !t.IsZero() && from.Add(t.Sub(from)).Equal(t)
}

func encodeToken(t *storage.Token) []byte {
	e := newEncoderV2()
	var flags uint64
	if t.Subject == t.ClientID {
		flags |= tokSubjectIsClient
	}
	if t.FamilyID == t.ID {
		flags |= tokFamilyIsSelf
	}
	if t.NotBefore.Equal(t.IssuedAt) {
		flags |= tokStartsAtIssue
	}
	if sinceOK(t.IssuedAt, t.ExpiresAt) {
		flags |= tokExpiryAsDuration
	}
	if !t.RevokedAt.IsZero() {
		flags |= tokRevoked
	}
	if !t.RotatedAt.IsZero() {
		flags |= tokRotated
	}
	e.uvarint(flags)
	e.code(t.Kind, tokenKinds)
	e.code(t.Format, tokenFormats)
	e.str(t.ClientID)
	if flags&tokSubjectIsClient == 0 {
		e.str(t.Subject)
	}
	e.str(t.SessionID)
	e.str(t.ParentID)
	if flags&tokFamilyIsSelf == 0 {
		e.str(t.FamilyID)
	}
	e.strs(t.Scopes)
	e.strs(t.Audiences)
	e.strs(t.Actors)
	e.strs(t.MayAct)
	e.str(t.JKT)
	e.time(t.IssuedAt)
	if flags&tokStartsAtIssue == 0 {
		e.time(t.NotBefore)
	}
	if flags&tokExpiryAsDuration != 0 {
		e.int(int64(t.ExpiresAt.Round(0).Sub(t.IssuedAt.Round(0))))
	} else {
		e.time(t.ExpiresAt)
	}
	if flags&tokRevoked != 0 {
		e.time(t.RevokedAt)
	}
	if flags&tokRotated != 0 {
		e.time(t.RotatedAt)
	}
	e.str(t.SuccessorID)
	return e.b
}

// decodeToken decodes token id, stored as data.
func decodeToken(id string, data []byte, t *storage.Token) error {
	d := newDecoder(data)
	if d.format == codecV1 {
		return decodeTokenV1(&d, t)
	}
	flags := d.uvarint()
	t.ID = id
	t.Kind, t.Format = d.code(tokenKinds), d.code(tokenFormats)
	t.ClientID = d.str()
	t.Subject = t.ClientID
	if flags&tokSubjectIsClient == 0 {
		t.Subject = d.str()
	}
	t.SessionID, t.ParentID = d.str(), d.str()
	t.FamilyID = t.ID
	if flags&tokFamilyIsSelf == 0 {
		t.FamilyID = d.str()
	}
	t.Scopes, t.Audiences, t.Actors, t.MayAct = d.strs(), d.strs(), d.strs(), d.strs()
	t.JKT = d.str()
	t.IssuedAt = d.time()
	t.NotBefore = t.IssuedAt
	if flags&tokStartsAtIssue == 0 {
		t.NotBefore = d.time()
	}
	if flags&tokExpiryAsDuration != 0 {
		t.ExpiresAt = t.IssuedAt.Add(time.Duration(d.int()))
	} else {
		t.ExpiresAt = d.time()
	}
	t.RevokedAt, t.RotatedAt = time.Time{}, time.Time{}
	if flags&tokRevoked != 0 {
		t.RevokedAt = d.time()
	}
	if flags&tokRotated != 0 {
		t.RotatedAt = d.time()
	}
	t.SuccessorID = d.str()
	return d.done()
}

func decodeTokenV1(d *decoder, t *storage.Token) error {
	t.ID, t.Kind, t.Format, t.ClientID = d.str(), d.str(), d.str(), d.str()
	t.Subject, t.SessionID, t.ParentID, t.FamilyID = d.str(), d.str(), d.str(), d.str()
	t.Scopes, t.Audiences, t.Actors, t.MayAct = d.strs(), d.strs(), d.strs(), d.strs()
	t.JKT = d.str()
	t.IssuedAt, t.NotBefore, t.ExpiresAt, t.RevokedAt, t.RotatedAt = d.time(), d.time(), d.time(), d.time(), d.time()
	t.SuccessorID = d.str()
	return d.done()
}

func encodeSession(s *storage.Session) []byte {
	e := newEncoderV2()
	var flags uint64
	if s.Subject == s.ClientID {
		flags |= sessSubjectIsClient
	}
	if sinceOK(s.CreatedAt, s.ExpiresAt) {
		flags |= sessExpiryAsDuration
	}
	if !s.TerminatedAt.IsZero() {
		flags |= sessTerminated
	}
	e.uvarint(flags)
	e.str(s.ClientID)
	if flags&sessSubjectIsClient == 0 {
		e.str(s.Subject)
	}
	e.str(s.Origin)
	e.time(s.CreatedAt)
	if flags&sessExpiryAsDuration != 0 {
		e.int(int64(s.ExpiresAt.Round(0).Sub(s.CreatedAt.Round(0))))
	} else {
		e.time(s.ExpiresAt)
	}
	e.code(s.Status, sessionStatuses)
	if flags&sessTerminated != 0 {
		e.time(s.TerminatedAt)
	}
	for _, v := range []string{s.Reason, s.JKT, s.Issuer} {
		e.str(v)
	}
	encodeFacts(e, s)
	return e.b
}

func encodeFacts(e *encoder, s *storage.Session) {
	e.uvarint(uint64(len(s.Facts)))
	for _, f := range s.Facts {
		e.str(f.Code)
		e.int(int64(f.Points))
		e.time(f.At)
		e.str(f.Detail)
	}
	e.int(int64(s.Challenges))
	e.int(int64(s.FailedChallenges))
}

func decodeFacts(d *decoder, s *storage.Session) {
	s.Facts = nil
	if n := d.length(); n > 0 {
		s.Facts = make([]storage.Fact, n)
		for i := range s.Facts {
			f := &s.Facts[i]
			f.Code, f.Points, f.At, f.Detail = d.str(), int(d.int()), d.time(), d.str()
		}
	}
	s.Challenges, s.FailedChallenges = int(d.int()), int(d.int())
}

// decodeSession decodes session id, stored as data.
func decodeSession(id string, data []byte, s *storage.Session) error {
	d := newDecoder(data)
	if d.format == codecV1 {
		s.ID, s.ClientID, s.Subject, s.Origin = d.str(), d.str(), d.str(), d.str()
		s.CreatedAt, s.ExpiresAt = d.time(), d.time()
		s.Status = d.str()
		s.TerminatedAt = d.time()
		s.Reason, s.JKT, s.Issuer = d.str(), d.str(), d.str()
		decodeFacts(&d, s)
		return d.done()
	}
	flags := d.uvarint()
	s.ID = id
	s.ClientID = d.str()
	s.Subject = s.ClientID
	if flags&sessSubjectIsClient == 0 {
		s.Subject = d.str()
	}
	s.Origin = d.str()
	s.CreatedAt = d.time()
	if flags&sessExpiryAsDuration != 0 {
		s.ExpiresAt = s.CreatedAt.Add(time.Duration(d.int()))
	} else {
		s.ExpiresAt = d.time()
	}
	s.Status = d.code(sessionStatuses)
	s.TerminatedAt = time.Time{}
	if flags&sessTerminated != 0 {
		s.TerminatedAt = d.time()
	}
	s.Reason, s.JKT, s.Issuer = d.str(), d.str(), d.str()
	decodeFacts(&d, s)
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
	d.only(codecV1)
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

// An event's key names its session and its sequence number: the second
// form (codecV2) does not repeat them.
func encodeEvent(ev *storage.Event) []byte {
	e := newEncoderV2()
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

// decodeEvent decodes event seq of session sid, stored as data.
func decodeEvent(sid string, seq uint64, data []byte, ev *storage.Event) error {
	if isJSON(data) {
		return json.Unmarshal(data, ev)
	}
	d := newDecoder(data)
	if d.format == codecV1 {
		ev.SessionID, ev.Seq = d.str(), d.uvarint()
	} else {
		ev.SessionID, ev.Seq = sid, seq
	}
	ev.At = d.time()
	ev.Type, ev.ClientID, ev.Detail = d.str(), d.str(), d.str()
	ev.Score, ev.Level, ev.Action = int(d.int()), d.str(), d.str()
	ev.Reasons = nil
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
	d.only(codecV1)
	a.Seq, a.At = d.uvarint(), d.time()
	a.Type, a.ClientID, a.SessionID, a.Outcome, a.Reason, a.Detail = d.str(), d.str(), d.str(), d.str(), d.str(), d.str()
	a.Actor = d.str() // absent in records written before it existed: ""
	return d.done()
}
