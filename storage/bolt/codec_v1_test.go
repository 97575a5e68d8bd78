package bolt

import (
	"reflect"
	"testing"
	"time"

	"github.com/vigil-auth/vigil/storage"
)

// encodeTokenV1 and encodeSessionV1 write the first binary form, as files
// written before codecV2 hold tokens and sessions.

func encodeTokenV1(t *storage.Token) []byte {
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

func encodeSessionV1(s *storage.Session) []byte {
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
	encodeFacts(e, s)
	return e.b
}

// TestCodecV1StillRead decodes records in the first form, and checks that
// the second form reads them back identically and is smaller.
func TestCodecV1StillRead(t *testing.T) {
	at := time.Date(2026, 12, 4, 18, 0, 0, 123456789, time.Local)
	toks := []storage.Token{
		{ID: "tok-a", Kind: storage.AccessToken, Format: "opaque", ClientID: "agent-1", Subject: "agent-1", SessionID: "ses_x",
			Scopes: []string{"read"}, Audiences: []string{"https://api"}, IssuedAt: at, NotBefore: at, ExpiresAt: at.Add(5 * time.Minute)},
		{ID: "tok-b", Kind: storage.RefreshToken, Format: "jwt", ClientID: "agent-1", Subject: "other", FamilyID: "tok-b",
			IssuedAt: time.Now(), NotBefore: time.Now().Add(time.Second), ExpiresAt: time.Now().Add(time.Hour),
			RevokedAt: at.Add(time.Second), RotatedAt: at.Add(2 * time.Second), SuccessorID: "tok-c"},
		{ID: "tok-c", Kind: "odd", Format: "odder", FamilyID: "tok-b", ExpiresAt: at},
		{ID: "tok-d", IssuedAt: at, ExpiresAt: time.Date(9999, 1, 1, 0, 0, 0, 1, time.UTC)},
		{ID: "tok-e", IssuedAt: time.Date(1000, 1, 1, 0, 0, 0, 0, time.UTC), NotBefore: at, ExpiresAt: time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)},
	}
	for _, tok := range toks {
		var v1, v2 storage.Token
		if err := decodeToken(tok.ID, encodeTokenV1(&tok), &v1); err != nil {
			t.Fatalf("%s: first form: %v", tok.ID, err)
		}
		if err := decodeToken(tok.ID, encodeToken(&tok), &v2); err != nil {
			t.Fatalf("%s: second form: %v", tok.ID, err)
		}
		if !reflect.DeepEqual(v1, v2) {
			t.Errorf("%s: first form %+v\nsecond form %+v", tok.ID, v1, v2)
		}
		if !v2.ExpiresAt.Equal(tok.ExpiresAt) || !v2.NotBefore.Equal(tok.NotBefore) || v2.Subject != tok.Subject || v2.FamilyID != tok.FamilyID {
			t.Errorf("%s: decoded %+v, stored %+v", tok.ID, v2, tok)
		}
	}
	if n1, n2 := len(encodeTokenV1(&toks[0])), len(encodeToken(&toks[0])); n2 >= n1*2/3 {
		t.Errorf("a typical access token takes %d bytes in the second form, %d in the first", n2, n1)
	}
	sessions := []storage.Session{
		{ID: "ses_x", ClientID: "agent-1", Subject: "agent-1", Origin: "127.0.0.1", CreatedAt: at, ExpiresAt: at.Add(time.Hour), Status: storage.SessionActive},
		{ID: "ses_y", ClientID: "agent-1", Subject: "s", CreatedAt: time.Now(), ExpiresAt: time.Now().Add(time.Minute), Status: storage.SessionTerminated,
			TerminatedAt: at, Reason: "admin", JKT: "j", Issuer: "i", Facts: []storage.Fact{{Code: "c", Points: -2, At: at, Detail: "d"}}, Challenges: 3, FailedChallenges: 1},
		{ID: "ses_z", Status: "paused"},
	}
	for _, s := range sessions {
		var v1, v2 storage.Session
		if err := decodeSession(s.ID, encodeSessionV1(&s), &v1); err != nil {
			t.Fatalf("%s: first form: %v", s.ID, err)
		}
		if err := decodeSession(s.ID, encodeSession(&s), &v2); err != nil {
			t.Fatalf("%s: second form: %v", s.ID, err)
		}
		if !reflect.DeepEqual(v1, v2) {
			t.Errorf("%s: first form %+v\nsecond form %+v", s.ID, v1, v2)
		}
	}
}

func encodeEventV1(ev *storage.Event) []byte {
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

// TestEventV1StillRead decodes an event in the first form, which holds its
// session and sequence number, and in the second, whose key holds them.
func TestEventV1StillRead(t *testing.T) {
	ev := storage.Event{SessionID: "ses_x", Seq: 7, At: time.Date(2026, 12, 4, 18, 0, 0, 5, time.UTC), Type: "token",
		ClientID: "agent-1", Detail: "scope=a", Score: 12, Level: "low", Action: "allow",
		Reasons: []storage.Reason{{Code: "risk.prior", Points: 30, Evidence: "e"}}}
	key := keyOf(&ev)
	for name, data := range map[string][]byte{"first": encodeEventV1(&ev), "second": encodeEvent(&ev)} {
		var got storage.Event
		if err := decode(data, &got, "event", key); err != nil || !reflect.DeepEqual(got, ev) {
			t.Errorf("%s form: %+v, %v", name, got, err)
		}
	}
	if n1, n2 := len(encodeEventV1(&ev)), len(encodeEvent(&ev)); n2 != n1-len(ev.SessionID)-2 {
		t.Errorf("second form %d bytes, first %d", n2, n1)
	}
}
