package storage

import (
	"context"
	"fmt"
	"strings"
)

// CanonicalID is the one normalization rule for client ids: lower case,
// with '_' and '.' read as '-'. Two ids with the same canonical form name
// the same client to a person reading a log or a policy ("AGENT-A",
// "agent_a", "agent-a"), so only one of them may be registered.
func CanonicalID(id string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case '_', '.':
			return '-'
		}
		if 'A' <= r && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}, id)
}

// ClientIDTaken reports, as an error matching ErrAlreadyExists, a
// registered client other than id itself whose id has id's canonical form.
// Callers creating or replacing a client check it inside the writing
// transaction.
func ClientIDTaken(ctx context.Context, r Reader, id string) error {
	cs, err := r.ListClients(ctx)
	if err != nil {
		return err
	}
	want := CanonicalID(id)
	for _, c := range cs {
		if c.ID != id && CanonicalID(c.ID) == want {
			return fmt.Errorf("%w: client id %q collides with the registered %q (ids differing only in case, '_', '.' or '-' are one id)",
				ErrAlreadyExists, id, c.ID)
		}
	}
	return nil
}

// CanonicalName is the normalization rule for resource audiences and
// trusted issuer identifiers: lower case. They are URLs or names compared
// exactly in tokens, but two that differ only in case
// ("HTTPS://API.EXAMPLE", "https://api.example") name one thing to a person
// granting or revoking it, so only one of them may be registered.
func CanonicalName(s string) string { return strings.ToLower(s) }

// ResourceTaken reports, as an error matching ErrAlreadyExists, a
// registered resource other than audience itself whose audience has the
// same canonical form (CanonicalName).
func ResourceTaken(ctx context.Context, r Reader, audience string) error {
	rs, err := r.ListResources(ctx)
	if err != nil {
		return err
	}
	for _, x := range rs {
		if x.Audience != audience && CanonicalName(x.Audience) == CanonicalName(audience) {
			return fmt.Errorf("%w: audience %q collides with the registered %q (audiences differing only in case are one)",
				ErrAlreadyExists, audience, x.Audience)
		}
	}
	return nil
}

// IssuerTaken reports, as an error matching ErrAlreadyExists, a registered
// trusted issuer other than issuer itself with the same canonical form.
func IssuerTaken(ctx context.Context, r Reader, issuer string) error {
	is, err := r.ListIssuers(ctx)
	if err != nil {
		return err
	}
	for _, x := range is {
		if x.Issuer != issuer && CanonicalName(x.Issuer) == CanonicalName(issuer) {
			return fmt.Errorf("%w: issuer %q collides with the registered %q (issuers differing only in case are one)",
				ErrAlreadyExists, issuer, x.Issuer)
		}
	}
	return nil
}
