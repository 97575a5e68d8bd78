package admin

import (
	"context"
	"errors"
	"net/http"
	"net/url"

	"github.com/vigil-auth/vigil/internal/config"
	"github.com/vigil-auth/vigil/internal/secret"
	"github.com/vigil-auth/vigil/internal/web"
	"github.com/vigil-auth/vigil/storage"
)

// SecretPrefix starts every client secret the server generates.
const SecretPrefix = "vcs_"

// ClientInput is a client as a create or update body carries it: the
// stored record's fields, plus an optional plaintext secret. secret_hash is
// refused; created_at and updated_at are ignored (the server sets them).
type ClientInput struct {
	storage.Client
	Secret string `json:"secret,omitempty"`
}

// ClientOutput is a client as the API returns it. SecretHash shadows the
// record's field and is always empty, so the hash never leaves the server;
// ClientSecret is set only in the answer that generated the secret.
type ClientOutput struct {
	storage.Client
	SecretHash   string `json:"secret_hash,omitempty"`
	ClientSecret string `json:"client_secret,omitempty"`
}

func clientOut(c storage.Client, generated string) ClientOutput {
	c.SecretHash = ""
	return ClientOutput{Client: c, ClientSecret: generated}
}

// decodeClient reads a ClientInput and turns it into a record with the
// defaults applied; the credential is resolved by the caller.
func decodeClient(w http.ResponseWriter, r *http.Request) (ClientInput, error) {
	var in ClientInput
	if err := decodeBody(w, r, &in); err != nil {
		return in, err
	}
	if in.SecretHash != "" {
		return in, badRequest("secret_hash is not accepted; give secret (plaintext), which is stored hashed")
	}
	if in.Secret != "" {
		if err := config.ValidateSecret(in.Secret); err != nil {
			return in, badRequest("%v", err)
		}
	}
	in.Client = in.Client.WithDefaults()
	in.Source = "" // a client written through the admin API is its own
	return in, nil
}

func usesKeys(c storage.Client) bool { return len(c.JWKS) > 0 || c.JWKSURI != "" }

func (a *API) listClients(w http.ResponseWriter, r *http.Request) {
	cs, err := a.d.Store.ListClients(r.Context())
	if err != nil {
		a.fail(w, r, storeErr(err, "clients"))
		return
	}
	out := make([]ClientOutput, 0, len(cs))
	for _, c := range cs {
		out = append(out, clientOut(c, ""))
	}
	writeJSON(w, http.StatusOK, map[string]any{"clients": out})
}

func (a *API) getClient(w http.ResponseWriter, r *http.Request) {
	id := web.Var(r, "id")
	c, err := a.d.Store.GetClient(r.Context(), id)
	if err != nil {
		a.fail(w, r, storeErr(err, "client "+id))
		return
	}
	writeJSON(w, http.StatusOK, clientOut(c, ""))
}

// createClient registers a client. Without secret, jwks or jwks_uri, a
// secret is generated and returned once as client_secret.
func (a *API) createClient(w http.ResponseWriter, r *http.Request) {
	in, err := decodeClient(w, r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	c, generated := in.Client, ""
	switch {
	case in.Secret != "":
		c.SecretHash = a.d.Hasher.Hash(in.Secret)
	case !usesKeys(c):
		generated = secret.Generate(SecretPrefix)
		c.SecretHash = a.d.Hasher.Hash(generated)
	}
	if err := c.Validate(); err != nil {
		a.fail(w, r, invalid("client", err))
		return
	}
	now := a.d.Now()
	c.CreatedAt, c.UpdatedAt = now, now
	err = a.d.Store.Update(r.Context(), func(wr storage.Writer) error {
		if _, err := wr.GetClient(r.Context(), c.ID); err == nil {
			return storage.ErrAlreadyExists
		} else if !errors.Is(err, storage.ErrNotFound) {
			return err
		}
		if err := storage.ClientIDTaken(r.Context(), wr, c.ID); err != nil {
			return conflict(err)
		}
		if err := wr.PutClient(r.Context(), c); err != nil {
			return err
		}
		return a.auditIn(r.Context(), wr, storage.AuditRecord{ClientID: c.ID, Outcome: "created", Detail: "client " + c.ID})
	})
	if err != nil {
		a.fail(w, r, storeErr(err, "client "+c.ID))
		return
	}
	a.d.Log.InfoContext(r.Context(), "admin: client created", "client_id", c.ID, "kind", c.Kind)
	w.Header().Set("Location", "/admin/clients/"+url.PathEscape(c.ID))
	writeJSON(w, http.StatusCreated, clientOut(c, generated))
}

// putClient replaces a client whole and validates the result. The stored
// secret hash is kept unless the body gives a new secret or switches to
// jwks / jwks_uri.
func (a *API) putClient(w http.ResponseWriter, r *http.Request) {
	id := web.Var(r, "id")
	in, err := decodeClient(w, r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if in.ID != "" && in.ID != id {
		a.fail(w, r, badRequest("id %q in the body does not match the path (%q); ids cannot change", in.ID, id))
		return
	}
	c := in.Client
	c.ID, c.SecretHash = id, ""
	if in.Secret != "" {
		c.SecretHash = a.d.Hasher.Hash(in.Secret)
	}
	var saved storage.Client
	err = a.d.Store.Update(r.Context(), func(wr storage.Writer) error {
		var err error
		saved, err = a.replaceClient(r.Context(), wr, c, in.Secret != "")
		return err
	})
	if err != nil {
		a.fail(w, r, storeErr(err, "client "+id))
		return
	}
	a.d.Log.InfoContext(r.Context(), "admin: client updated", "client_id", id)
	writeJSON(w, http.StatusOK, clientOut(saved, ""))
}

func (a *API) replaceClient(ctx context.Context, wr storage.Writer, c storage.Client, newSecret bool) (storage.Client, error) {
	prev, err := wr.GetClient(ctx, c.ID)
	if err != nil {
		return c, err
	}
	if !newSecret && !usesKeys(c) {
		c.SecretHash = prev.SecretHash
	}
	if err := c.Validate(); err != nil {
		return c, invalid("client", err)
	}
	c.CreatedAt, c.UpdatedAt = prev.CreatedAt, a.d.Now()
	if err := wr.PutClient(ctx, c); err != nil {
		return c, err
	}
	if err := a.notifyReplaced(ctx, wr, prev, c); err != nil {
		return c, err
	}
	return c, a.auditIn(ctx, wr, storage.AuditRecord{ClientID: c.ID, Outcome: "updated", Detail: "client " + c.ID})
}

// rotateSecret replaces a secret client's secret with a generated one,
// returned once. The old secret stops working at once.
func (a *API) rotateSecret(w http.ResponseWriter, r *http.Request) {
	id := web.Var(r, "id")
	generated := secret.Generate(SecretPrefix)
	hash := a.d.Hasher.Hash(generated)
	err := a.d.Store.Update(r.Context(), func(wr storage.Writer) error {
		c, err := wr.GetClient(r.Context(), id)
		if err != nil {
			return err
		}
		if usesKeys(c) {
			return badRequest("client %s authenticates with jwks or jwks_uri; replace it to switch to a secret", id)
		}
		c.SecretHash, c.UpdatedAt = hash, a.d.Now()
		if err := wr.PutClient(r.Context(), c); err != nil {
			return err
		}
		if err := a.notifySecret(r.Context(), wr, id); err != nil {
			return err
		}
		return a.auditIn(r.Context(), wr, storage.AuditRecord{ClientID: id, Outcome: "secret_rotated", Detail: "client " + id})
	})
	if err != nil {
		a.fail(w, r, storeErr(err, "client "+id))
		return
	}
	a.d.Log.InfoContext(r.Context(), "admin: client secret rotated", "client_id", id)
	writeJSON(w, http.StatusOK, map[string]string{"client_id": id, "client_secret": generated})
}

// deleteClient removes a client and terminates its live sessions, which
// revokes every token they hold. Deleting an unknown client still sweeps
// sessions left under its id (a retry after a failed sweep), then answers 404.
func (a *API) deleteClient(w http.ResponseWriter, r *http.Request) {
	id := web.Var(r, "id")
	delErr := a.d.Store.Update(r.Context(), func(wr storage.Writer) error {
		if err := wr.DeleteClient(r.Context(), id); err != nil {
			return err
		}
		return a.auditIn(r.Context(), wr, storage.AuditRecord{ClientID: id, Outcome: "deleted", Detail: "client " + id})
	})
	if delErr != nil && !errors.Is(delErr, storage.ErrNotFound) {
		a.fail(w, r, storeErr(delErr, "client "+id))
		return
	}
	ended, err := a.terminateClientSessions(r.Context(), id)
	if err != nil {
		a.fail(w, r, storeErr(err, "sessions of client "+id))
		return
	}
	if delErr != nil {
		a.fail(w, r, storeErr(delErr, "client "+id))
		return
	}
	a.d.Log.InfoContext(r.Context(), "admin: client deleted", "client_id", id, "sessions_terminated", len(ended))
	writeJSON(w, http.StatusOK, map[string]any{"client_id": id, "terminated_sessions": ended})
}

func (a *API) terminateClientSessions(ctx context.Context, id string) ([]string, error) {
	ss, err := a.d.Store.ListSessions(ctx, storage.SessionFilter{ClientID: id, Status: storage.SessionActive})
	if err != nil {
		return nil, err
	}
	ended := []string{}
	if len(ss) > 0 && a.d.Sessions == nil {
		return ended, errNoTerminator
	}
	for _, s := range ss {
		if err := a.d.Sessions.TerminateSession(ctx, s.ID, "client deleted"); err != nil {
			return ended, err
		}
		ended = append(ended, s.ID)
	}
	return ended, nil
}
