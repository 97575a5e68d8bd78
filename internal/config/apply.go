package config

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/vigil-auth/vigil/internal/secret"
	"github.com/vigil-auth/vigil/storage"
)

// MaxSecretLength is the longest client secret accepted.
const MaxSecretLength = 512

// ValidateSecret reports whether s may be a client secret: MinSecretLength
// to MaxSecretLength printable characters.
func ValidateSecret(s string) error {
	switch {
	case len(s) < MinSecretLength:
		return fmt.Errorf("secret: shorter than %d characters", MinSecretLength)
	case len(s) > MaxSecretLength:
		return fmt.Errorf("secret: longer than %d characters", MaxSecretLength)
	case strings.IndexFunc(s, func(r rune) bool { return unicode.IsControl(r) || unicode.IsSpace(r) }) >= 0:
		return errors.New("secret: must not contain spaces or control characters")
	}
	return nil
}

// placeholderHash stands in for a credential while validating a file
// without a store: a client may rely on a credential the store holds.
const placeholderHash = "placeholder"

// Validate reports every problem with f, joined: settings (over the
// defaults), every record, and duplicated IDs, audiences or issuers. A
// client with no secret, jwks or jwks_uri passes here; Apply refuses it
// unless the store already holds a credential for it.
func (f *File) Validate() error {
	var errs []error
	if err := f.Overlay(Defaults()).Validate(); err != nil {
		if f.path != "" {
			err = fmt.Errorf("%s: %w", f.path, err)
		}
		errs = append(errs, err)
	}
	ids := map[string]bool{}
	for i, c := range f.Clients {
		errs = append(errs, f.recordErr("clients", i, c.ID, c.validate(), ids))
	}
	auds := map[string]bool{}
	for i, r := range f.Resources {
		errs = append(errs, f.recordErr("resources", i, r.Audience, r.Validate(), auds))
	}
	iss := map[string]bool{}
	for i, is := range f.TrustedIssuers {
		errs = append(errs, f.recordErr("trusted_issuers", i, is.Issuer, is.Validate(), iss))
	}
	return errors.Join(errs...)
}

// recordErr reports the problems of record i of list, naming the file and
// the record's line when known.
func (f *File) recordErr(list string, i int, key string, err error, seen map[string]bool) error {
	err = recordErr(list, i, key, err, seen)
	if line := f.lines[fmt.Sprintf("%s[%d]", list, i)]; err != nil && line > 0 {
		err = fmt.Errorf("line %d: %w", line, err)
	}
	if err != nil && f.path != "" {
		err = fmt.Errorf("%s: %w", f.path, err)
	}
	return err
}

func recordErr(list string, i int, key string, err error, seen map[string]bool) error {
	var errs []error
	if err != nil {
		errs = append(errs, err)
	}
	if seen[key] && key != "" {
		errs = append(errs, fmt.Errorf("%q is declared twice", key))
	}
	seen[key] = true
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("%s[%d] (%s): %w", list, i, key, errors.Join(errs...))
}

func (c Client) validate() error {
	var errs []error
	if c.Secret != "" {
		errs = append(errs, ValidateSecret(c.Secret))
	}
	rec := c.Client.WithDefaults()
	if c.Secret != "" || (len(rec.JWKS) == 0 && rec.JWKSURI == "") {
		rec.SecretHash = placeholderHash
	}
	errs = append(errs, rec.Validate())
	return errors.Join(errs...)
}

// Apply validates f and upserts its clients, resources and trusted issuers
// into store in one transaction, at now. A record equal to the stored one
// (ignoring created_at and updated_at) is not rewritten. Secrets are hashed
// with h; a stored hash that already verifies the file's secret is kept, so
// re-applying a file with short (slow-hashed, salted) secrets changes
// nothing. Every change is recorded in the audit log. Apply returns how
// many records it created or changed.
func (f *File) Apply(ctx context.Context, store storage.Store, h *secret.Hasher, now time.Time) (changed int, err error) {
	if err := f.Validate(); err != nil {
		return 0, fmt.Errorf("config: %w", err)
	}
	err = store.Update(ctx, func(w storage.Writer) error {
		changed = 0 // fn may run more than once
		for _, c := range f.Clients {
			n, err := applyClient(ctx, w, c, h, now)
			if err != nil {
				return fmt.Errorf("client %s: %w", c.ID, err)
			}
			changed += n
		}
		for _, r := range f.Resources {
			n, err := applyResource(ctx, w, r, now)
			if err != nil {
				return fmt.Errorf("resource %s: %w", r.Audience, err)
			}
			changed += n
		}
		for _, is := range f.TrustedIssuers {
			n, err := applyIssuer(ctx, w, is, now)
			if err != nil {
				return fmt.Errorf("trusted issuer %s: %w", is.Issuer, err)
			}
			changed += n
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("config: apply: %w", err)
	}
	return changed, nil
}

func applyClient(ctx context.Context, w storage.Writer, c Client, h *secret.Hasher, now time.Time) (int, error) {
	prev, err := w.GetClient(ctx, c.ID)
	found := err == nil
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return 0, err
	}
	rec := c.record(prev, found, h)
	if err := rec.Validate(); err != nil {
		return 0, err
	}
	if found && sameRecord(prev, rec, clearClientTimes) {
		return 0, nil
	}
	rec.CreatedAt, rec.UpdatedAt = createdAt(prev.CreatedAt, found, now), now
	if err := w.PutClient(ctx, rec); err != nil {
		return 0, err
	}
	return 1, audit(ctx, w, c.ID, found, "client "+c.ID, now)
}

// record builds the stored client from the declaration and the stored
// record prev (when found).
func (c Client) record(prev storage.Client, found bool, h *secret.Hasher) storage.Client {
	rec := c.Client.WithDefaults()
	rec.SecretHash = ""
	switch {
	case c.Secret != "":
		if found && prev.SecretHash != "" && h.Verify(prev.SecretHash, c.Secret) == nil {
			rec.SecretHash = prev.SecretHash
		} else {
			rec.SecretHash = h.Hash(c.Secret)
		}
	case len(rec.JWKS) == 0 && rec.JWKSURI == "" && found:
		rec.SecretHash, rec.JWKS, rec.JWKSURI = prev.SecretHash, prev.JWKS, prev.JWKSURI
	}
	return rec
}

func applyResource(ctx context.Context, w storage.Writer, r storage.Resource, now time.Time) (int, error) {
	prev, err := w.GetResource(ctx, r.Audience)
	found := err == nil
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return 0, err
	}
	if found && sameRecord(prev, r, clearResourceTimes) {
		return 0, nil
	}
	r.CreatedAt, r.UpdatedAt = createdAt(prev.CreatedAt, found, now), now
	if err := w.PutResource(ctx, r); err != nil {
		return 0, err
	}
	return 1, audit(ctx, w, "", found, "resource "+r.Audience, now)
}

func applyIssuer(ctx context.Context, w storage.Writer, is storage.Issuer, now time.Time) (int, error) {
	prev, err := w.GetIssuer(ctx, is.Issuer)
	found := err == nil
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return 0, err
	}
	if found && sameRecord(prev, is, clearIssuerTimes) {
		return 0, nil
	}
	is.CreatedAt, is.UpdatedAt = createdAt(prev.CreatedAt, found, now), now
	if err := w.PutIssuer(ctx, is); err != nil {
		return 0, err
	}
	return 1, audit(ctx, w, "", found, "trusted issuer "+is.Issuer, now)
}

func createdAt(prev time.Time, found bool, now time.Time) time.Time {
	if found && !prev.IsZero() {
		return prev
	}
	return now
}

func audit(ctx context.Context, w storage.Writer, clientID string, found bool, what string, now time.Time) error {
	outcome := "created"
	if found {
		outcome = "updated"
	}
	return w.AppendAudit(ctx, storage.AuditRecord{
		At: now, Type: "admin", ClientID: clientID, Outcome: outcome, Reason: "config", Detail: what,
	})
}

func clearClientTimes(c *storage.Client)     { c.CreatedAt, c.UpdatedAt = time.Time{}, time.Time{} }
func clearResourceTimes(r *storage.Resource) { r.CreatedAt, r.UpdatedAt = time.Time{}, time.Time{} }
func clearIssuerTimes(i *storage.Issuer)     { i.CreatedAt, i.UpdatedAt = time.Time{}, time.Time{} }

// SameRecord reports whether a and b are equal ignoring what clear resets
// (their timestamps), comparing their JSON forms so that nil and empty
// lists are equal.
func sameRecord[T any](a, b T, clear func(*T)) bool {
	clear(&a)
	clear(&b)
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	return errA == nil && errB == nil && bytes.Equal(ja, jb)
}
