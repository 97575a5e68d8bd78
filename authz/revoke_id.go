package authz

import (
	"context"
	"fmt"

	"github.com/vigil-auth/vigil/storage"
)

// RevokeToken revokes the token with storage id id, as an administrator
// does: like Revoke (its refresh family, every token derived from it, the
// risk engine told when the session is left with nothing to continue
// with) but for any client. It returns storage.ErrNotFound (wrapped) for
// an unknown id. The revocation is durable before RevokeToken returns.
func (s *Server) RevokeToken(ctx context.Context, id string) error {
	var ended *storage.Token
	err := s.store.Update(ctx, func(w storage.Writer) error {
		ended = nil
		t, err := w.GetToken(ctx, id)
		if err != nil {
			return err
		}
		if err := s.revokeTree(ctx, w, t); err != nil {
			return err
		}
		if ownToken(t) {
			live, err := liveRefresh(ctx, w, t.SessionID, s.now())
			if err == nil && !live {
				ended = &t
			}
			return err
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("authz: revoke token: %w", err)
	}
	if ended != nil {
		s.reportEnd(ctx, *ended)
	}
	return nil
}
