package server

import (
	"context"
	"errors"
	"fmt"

	"github.com/vigil-auth/vigil/authz"
	"github.com/vigil-auth/vigil/introspect"
	"github.com/vigil-auth/vigil/storage"
)

// livePolicy gives introspection the authority's registration policy, the
// check every grant applies.
type livePolicy struct{ az *authz.Server }

func (p livePolicy) Bound(ctx context.Context, t storage.Token, sess storage.Session, holder storage.Client) (storage.Token, error) {
	t, err := p.az.Bound(ctx, t, sess, holder)
	if errors.Is(err, authz.ErrRegistration) {
		return t, fmt.Errorf("%w: %w", introspect.ErrNotAllowed, err)
	}
	return t, err
}
