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
