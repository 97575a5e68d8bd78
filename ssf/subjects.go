package ssf

import (
	"context"
	"encoding/json"
	"errors"
	"strings"

	"github.com/vigil-auth/vigil/risk"
	"github.com/vigil-auth/vigil/storage"
)

// target is what an inbound event applies to: one session, or every
// active session of a client.
type target struct{ sid, clientID string }

// apply sends sig to every target the event's subject resolves to. A
// subject that names nothing Vigil knows changes nothing.
func (rc *Receiver) apply(ctx context.Context, iss storage.Issuer, c inbound, body json.RawMessage, sig risk.Signal) error {
	subj := c.SubID
	if subj == nil {
		var ev struct {
			Subject *Subject `json:"subject"`
		}
		if json.Unmarshal(body, &ev) == nil {
			subj = ev.Subject
		}
	}
	if subj == nil {
		return refuse(ErrInvalidRequest, "the SET names no subject (sub_id)")
	}
	targets, err := rc.resolve(ctx, iss, *subj)
	if err != nil {
		return err
	}
	if len(targets) == 0 {
		rc.log.InfoContext(ctx, "ssf: SET names no known subject; nothing to do", "iss", iss.Issuer, "jti", c.ID)
	}
	for _, t := range targets {
		_, err := rc.signals.Signal(ctx, t.sid, t.clientID, sig)
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			return err
		}
	}
	return nil
}

// resolve maps a subject identifier from issuer iss to Vigil's sessions
// and clients:
//   - a complex subject's session, an opaque ID: a session that iss opened
//     (by token exchange) with that ID;
//   - an external subject (iss_sub with iss's issuer, opaque, email, uri,
//     or a complex subject's user): the active sessions iss opened for that
//     subject; and, when iss's subject mapping names that subject exactly
//     (not by prefix), every active session of the mapped client.
func (rc *Receiver) resolve(ctx context.Context, iss storage.Issuer, s Subject) ([]target, error) {
	var out []target
	if s.Format == FormatComplex {
		if s.Session != nil && s.Session.Format == FormatOpaque {
			t, err := rc.sessionOf(ctx, iss, s.Session.ID)
			if err != nil || t != nil {
				return appendTarget(out, t), err
			}
		}
		if s.User == nil {
			return out, nil
		}
		s = *s.User
	}
	if s.Format == FormatOpaque {
		t, err := rc.sessionOf(ctx, iss, s.ID)
		if err != nil || t != nil {
			return appendTarget(out, t), err
		}
	}
	ext := externalSubject(iss, s)
	if ext == "" {
		return out, nil
	}
	return rc.subjectTargets(ctx, iss, ext)
}

func appendTarget(out []target, t *target) []target {
	if t == nil {
		return out
	}
	return append(out, *t)
}

// sessionOf returns session id as a target when iss opened it.
func (rc *Receiver) sessionOf(ctx context.Context, iss storage.Issuer, id string) (*target, error) {
	if id == "" {
		return nil, nil
	}
	sess, err := rc.store.GetSession(ctx, id)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && sess.Issuer != iss.Issuer) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &target{sid: sess.ID}, nil
}

// externalSubject is the subject as iss's tokens name it (their sub).
func externalSubject(iss storage.Issuer, s Subject) string {
	switch s.Format {
	case FormatIssSub:
		if s.Iss == iss.Issuer {
			return s.Sub
		}
	case FormatOpaque:
		return s.ID
	case FormatEmail:
		return s.Email
	case FormatURI:
		return s.URI
	}
	return ""
}

// subjectTargets finds what external subject ext of iss names.
func (rc *Receiver) subjectTargets(ctx context.Context, iss storage.Issuer, ext string) ([]target, error) {
	m, exact := mapping(iss, ext)
	if m == "" {
		return nil, nil
	}
	if exact {
		return []target{{clientID: m}}, nil
	}
	ss, err := rc.store.ListSessions(ctx, storage.SessionFilter{ClientID: m, Status: storage.SessionActive})
	if err != nil {
		return nil, err
	}
	var out []target
	for _, s := range ss {
		if s.Issuer == iss.Issuer && s.Subject == ext {
			out = append(out, target{sid: s.ID})
		}
	}
	return out, nil
}

// mapping returns the client iss's subject mapping gives ext, and whether
// the mapping names ext exactly.
func mapping(iss storage.Issuer, ext string) (string, bool) {
	for _, m := range iss.Subjects {
		if m.Subject == ext {
			return m.ClientID, true
		}
	}
	for _, m := range iss.Subjects {
		if p, ok := strings.CutSuffix(m.Subject, "*"); ok && strings.HasPrefix(ext, p) {
			return m.ClientID, false
		}
	}
	return "", false
}

// Signal applies an operator's signal (POST /admin/signals) the way an
// inbound SET's is applied.
func (rc *Receiver) Signal(ctx context.Context, sid, clientID string, sig risk.Signal) (map[string]risk.Decision, error) {
	return rc.signals.Signal(ctx, sid, clientID, sig)
}
