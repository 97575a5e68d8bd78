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
		// One id per canonical form: "Agent_A" and "agent-a" are declared twice.
		errs = append(errs, f.recordErr("clients", i, storage.CanonicalID(c.ID), c.validate(), ids))
	}
	auds := map[string]bool{}
	for i, r := range f.Resources {
		errs = append(errs, f.recordErr("resources", i, storage.CanonicalName(r.Audience), r.Validate(), auds))
	}
	iss := map[string]bool{}
	for i, is := range f.TrustedIssuers {
		errs = append(errs, f.recordErr("trusted_issuers", i, storage.CanonicalName(is.Issuer), is.Validate(), iss))
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

// Result says what applying a file changed.
type Result struct {
	// Changed counts the records created, changed, disabled or deleted.
	Changed int `json:"changed"`
	// Disabled lists the clients the file declared before and no longer
	// does: they are disabled (their tokens stop working at once; declaring
	// them again enables them).
	Disabled []string `json:"disabled_clients"`
	// Removed lists the resources and trusted issuers the file declared
	// before and no longer does, deleted ("resource AUD", "trusted issuer
	// URL").
	Removed []string `json:"removed"`
}

// Apply is Reconcile returning only how many records changed.
func (f *File) Apply(ctx context.Context, store storage.Store, h *secret.Hasher, now time.Time) (changed int, err error) {
	r, err := f.Reconcile(ctx, store, h, now)
	return r.Changed, err
}

// Reconcile validates f and makes the store agree with it, in one
// transaction (all or nothing), at now. The file is the truth for what it
// declares: its clients, resources and trusted issuers are upserted and
// marked with storage.SourceConfig; records so marked that the file no
// longer declares are disabled (clients) or deleted (resources, trusted
// issuers). Records made through the admin API are never touched unless
// the file declares them. A record equal to the stored one (ignoring
// created_at and updated_at) is not rewritten, so applying the same file
// again changes nothing. Secrets are hashed with h; a stored hash that
// already verifies the file's secret is kept. Every change is recorded in
// the audit log.
func (f *File) Reconcile(ctx context.Context, store storage.Store, h *secret.Hasher, now time.Time) (Result, error) {
	if err := f.Validate(); err != nil {
		return Result{}, fmt.Errorf("config: %w", err)
	}
	var res Result
	err := store.Update(ctx, func(w storage.Writer) error {
		res = Result{} // fn may run more than once
		n, err := f.upsert(ctx, w, h, now)
		if err != nil {
			return err
		}
		res.Changed = n
		return f.retire(ctx, w, now, &res)
	})
	if err != nil {
		return Result{}, fmt.Errorf("config: apply: %w", err)
	}
	return res, nil
}

// upsert writes the file's records and returns how many changed.
func (f *File) upsert(ctx context.Context, w storage.Writer, h *secret.Hasher, now time.Time) (int, error) {
	changed := 0
	for _, c := range f.Clients {
		n, err := applyClient(ctx, w, c, h, now)
		if err != nil {
			return 0, fmt.Errorf("client %s: %w", c.ID, err)
		}
		changed += n
	}
	for _, r := range f.Resources {
		n, err := applyResource(ctx, w, r, now)
		if err != nil {
			return 0, fmt.Errorf("resource %s: %w", r.Audience, err)
		}
		changed += n
	}
	for _, is := range f.TrustedIssuers {
		n, err := applyIssuer(ctx, w, is, now)
		if err != nil {
			return 0, fmt.Errorf("trusted issuer %s: %w", is.Issuer, err)
		}
		changed += n
	}
	return changed, nil
}

// retire disables the clients and deletes the resources and trusted
// issuers that came from the file and that it no longer declares.
func (f *File) retire(ctx context.Context, w storage.Writer, now time.Time, res *Result) error {
	declared := map[string]bool{}
	for _, c := range f.Clients {
		declared["client "+c.ID] = true
	}
	for _, r := range f.Resources {
		declared["resource "+r.Audience] = true
	}
	for _, is := range f.TrustedIssuers {
		declared["trusted issuer "+is.Issuer] = true
	}
	clients, err := w.ListClients(ctx)
	if err != nil {
		return err
	}
	for _, c := range clients {
		if c.Source != storage.SourceConfig || declared["client "+c.ID] || c.Disabled {
			continue
		}
		c.Disabled, c.UpdatedAt = true, now
		if err := w.PutClient(ctx, c); err != nil {
			return err
		}
		res.Changed++
		res.Disabled = append(res.Disabled, c.ID)
		if err := retireAudit(ctx, w, c.ID, "disabled", "client "+c.ID, now); err != nil {
			return err
		}
	}
	resources, err := w.ListResources(ctx)
	if err != nil {
		return err
	}
	for _, r := range resources {
		if err := retireOne(ctx, w, r.Source, "resource "+r.Audience, declared, res, now,
			func() error { return w.DeleteResource(ctx, r.Audience) }); err != nil {
			return err
		}
	}
	issuers, err := w.ListIssuers(ctx)
	if err != nil {
		return err
	}
	for _, is := range issuers {
		if err := retireOne(ctx, w, is.Source, "trusted issuer "+is.Issuer, declared, res, now,
			func() error { return w.DeleteIssuer(ctx, is.Issuer) }); err != nil {
			return err
		}
	}
	return nil
}

// retireOne deletes the record what when it came from the file and is no
// longer declared.
func retireOne(ctx context.Context, w storage.Writer, source, what string, declared map[string]bool,
	res *Result, now time.Time, del func() error) error {
	if source != storage.SourceConfig || declared[what] {
		return nil
	}
	if err := del(); err != nil {
		return err
	}
	res.Changed++
	res.Removed = append(res.Removed, what)
	return retireAudit(ctx, w, "", "deleted", what, now)
}

func retireAudit(ctx context.Context, w storage.Writer, clientID, outcome, what string, now time.Time) error {
	return w.AppendAudit(ctx, storage.AuditRecord{
		At: now, Type: "admin", ClientID: clientID, Outcome: outcome, Reason: "config: no longer declared", Detail: what,
	})
}

func applyClient(ctx context.Context, w storage.Writer, c Client, h *secret.Hasher, now time.Time) (int, error) {
	prev, err := w.GetClient(ctx, c.ID)
	found := err == nil
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return 0, err
	}
	rec := c.record(prev, found, h)
	rec.Source = storage.SourceConfig
	if err := rec.Validate(); err != nil {
		return 0, err
	}
	if err := storage.ClientIDTaken(ctx, w, c.ID); err != nil {
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
	r.Source = storage.SourceConfig
	if err := storage.ResourceTaken(ctx, w, r.Audience); err != nil {
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
	is.Source = storage.SourceConfig
	if err := storage.IssuerTaken(ctx, w, is.Issuer); err != nil {
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
