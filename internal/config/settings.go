package config

import (
	"cmp"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/vigil-auth/vigil/internal/limits"
	"github.com/vigil-auth/vigil/internal/register"
	"github.com/vigil-auth/vigil/storage"
)

// Default settings: a zero-configuration server listens on loopback and
// keeps its data in ./vigil-data.
const (
	DefaultListen          = "127.0.0.1:8080"
	DefaultData            = "./vigil-data"
	DefaultAccessTokenTTL  = limits.AccessTokenTTL
	DefaultRefreshTokenTTL = limits.RefreshTokenTTL
	DefaultExchangeTTL     = limits.ExchangeTTL
	DefaultMaxChainDepth   = limits.MaxChainDepth
	DefaultRefreshGrace    = limits.RefreshGrace
	DefaultDataCacheMiB    = limits.DataCacheMiB
	DefaultKeyAlg          = "ES256"
	DefaultKeyRotateAfter  = 30 * 24 * time.Hour
	DefaultLogLevel        = "info"
)

// Bounds on settings.
const (
	MaxChainDepthLimit = limits.MaxChainDepthLimit
	MaxRefreshGrace    = limits.MaxRefreshGrace
)

// Settings are the server-wide settings after defaults, the file, the
// environment and flags have been merged.
// The key tag names a setting in the file, the environment (VIGIL_ and
// the key in upper case) and the reference (see [Fields]).
type Settings struct {
	// Issuer is the issuer URL (RFC 8414 §2); "" means DefaultIssuer(Listen).
	Issuer string `key:"issuer"`
	// Listen is the host:port the server listens on.
	Listen string `key:"listen"`
	// Data is the data directory.
	Data string `key:"data"`
	// DataRequired says the data directory already holds a database: a
	// missing or empty one is refused at start instead of created (serve
	// --init creates it all the same).
	DataRequired bool `key:"data_required"`
	// DataCacheMiB bounds the bolt data file's pages the page cache keeps
	// for the server, in MiB; 0 leaves the page cache to the kernel.
	DataCacheMiB int `key:"data_cache_mib"`
	// Store names the database: "" or "bolt" for the bbolt file in Data,
	// or a postgres:// URL shared by several instances.
	Store string `key:"store"`
	// ClusterURL is the base URL where the other instances of a cluster
	// reach this one's peer endpoint: "" means http://<listen> (with an
	// unspecified host replaced by the host name), "off" keeps this
	// instance out of risk ownership. Only a PostgreSQL store uses it.
	ClusterURL string `key:"cluster_url"`
	// AccessTokenTTL, RefreshTokenTTL and ExchangeTTL are the lifetimes of
	// tokens for clients that set none of their own.
	AccessTokenTTL  time.Duration `key:"access_token_ttl"`
	RefreshTokenTTL time.Duration `key:"refresh_token_ttl"`
	ExchangeTTL     time.Duration `key:"exchange_ttl"`
	// MaxChainDepth is the longest RFC 8693 delegation chain (actors).
	MaxChainDepth int `key:"max_chain_depth"`
	// RefreshGrace is how long a rotated refresh token's reuse is treated as
	// a lost response rather than theft; 0 means no grace.
	RefreshGrace time.Duration `key:"refresh_grace"`
	// KeyAlg is the signing algorithm: ES256 or EdDSA.
	KeyAlg string `key:"key_alg"`
	// KeyRotateAfter is the signing key's age at which it is rotated (at
	// least 1h). Only offline tools that rotate by hand open keys with 0.
	KeyRotateAfter time.Duration `key:"key_rotate_after"`
	// DPoPNonce requires DPoP proofs at the token endpoint to carry a server
	// nonce (RFC 9449 §8). Default true.
	DPoPNonce bool `key:"dpop_nonce"`
	// LogLevel is the least level logged: debug, info, warn or error.
	LogLevel string `key:"log_level"`
	// Policy is the raw risk policy from the file, or nil.
	Policy *yaml.Node
	// Registration is the dynamic client registration policy, or nil (off).
	Registration *register.Policy
}

// Defaults returns the settings of a zero-configuration server.
func Defaults() Settings {
	return Settings{
		Listen: DefaultListen, Data: DefaultData, DataCacheMiB: DefaultDataCacheMiB,
		AccessTokenTTL: DefaultAccessTokenTTL, RefreshTokenTTL: DefaultRefreshTokenTTL,
		ExchangeTTL: DefaultExchangeTTL, MaxChainDepth: DefaultMaxChainDepth,
		RefreshGrace: DefaultRefreshGrace, KeyAlg: DefaultKeyAlg, KeyRotateAfter: DefaultKeyRotateAfter,
		DPoPNonce: true, LogLevel: DefaultLogLevel,
	}
}

// DefaultIssuer returns the issuer URL for a server listening on listen:
// http://listen, with an unspecified or empty host replaced by 127.0.0.1.
func DefaultIssuer(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "http://" + listen
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// Overlay returns base with every setting the file sets replaced by the
// file's value.
func (f *File) Overlay(base Settings) Settings {
	setString(&base.Issuer, f.Issuer)
	setString(&base.Listen, f.Listen)
	setString(&base.Data, f.Data)
	setString(&base.Store, f.Store)
	setString(&base.ClusterURL, f.ClusterURL)
	setString(&base.KeyAlg, f.KeyAlg)
	setString(&base.LogLevel, f.LogLevel)
	setDuration(&base.AccessTokenTTL, f.AccessTokenTTL)
	setDuration(&base.RefreshTokenTTL, f.RefreshTokenTTL)
	setDuration(&base.ExchangeTTL, f.ExchangeTTL)
	setDuration(&base.RefreshGrace, f.RefreshGrace)
	setDuration(&base.KeyRotateAfter, f.KeyRotateAfter)
	if f.MaxChainDepth != nil {
		base.MaxChainDepth = *f.MaxChainDepth
	}
	if f.DataRequired != nil {
		base.DataRequired = *f.DataRequired
	}
	if f.DataCacheMiB != nil {
		base.DataCacheMiB = *f.DataCacheMiB
	}
	if f.DPoPNonce != nil {
		base.DPoPNonce = *f.DPoPNonce
	}
	if f.Policy.Kind != 0 {
		p := f.Policy
		base.Policy = &p
	}
	if f.Registration != nil {
		base.Registration = f.Registration
	}
	return base
}

func setString(dst *string, v string) {
	if v != "" {
		*dst = v
	}
}

// setDuration overlays a duration the file sets, zero included.
func setDuration(dst *time.Duration, v *Duration) {
	if v != nil {
		*dst = time.Duration(*v)
	}
}

// Duration is a server setting's duration, Go duration text ("15m"). Unlike
// a record's storage.Duration, zero is accepted here: Settings.Validate
// decides, per setting, whether zero means zero (refresh_grace) or is
// refused (token lifetimes, key_rotate_after).
type Duration time.Duration

// MarshalText writes d as "1h0m0s".
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText parses Go duration text; negative durations are refused.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("invalid duration %q: %w", b, err)
	}
	if v < 0 {
		return fmt.Errorf("invalid duration %q: negative", b)
	}
	*d = Duration(v)
	return nil
}

// Validate reports every problem with s, joined.
func (s Settings) Validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if _, _, err := net.SplitHostPort(s.Listen); err != nil {
		add("listen: %q is not host:port", s.Listen)
	}
	if s.Data == "" {
		add("data: must not be empty")
	}
	if err := validateStore(s.Store); err != nil {
		add("store: %v", err)
	}
	if s.ClusterURL != "" && s.ClusterURL != ClusterOff {
		if err := validateClusterURL(s.ClusterURL); err != nil {
			add("cluster_url: %v", err)
		}
	}
	if s.Issuer != "" {
		if err := validateIssuerURL(s.Issuer); err != nil {
			add("issuer: %v", err)
		}
	}
	checkTTL := func(name string, d, maxTTL time.Duration) {
		if d <= 0 || d > maxTTL {
			add("%s: %s is not in (0, %s]", name, d, maxTTL)
		}
	}
	checkTTL("access_token_ttl", s.AccessTokenTTL, storage.MaxAccessTokenTTL)
	checkTTL("exchange_ttl", s.ExchangeTTL, storage.MaxAccessTokenTTL)
	checkTTL("refresh_token_ttl", s.RefreshTokenTTL, storage.MaxRefreshTokenTTL)
	if s.DataCacheMiB < 0 {
		add("data_cache_mib: %d is negative (0 leaves the page cache to the kernel)", s.DataCacheMiB)
	}
	if s.MaxChainDepth < 0 || s.MaxChainDepth > MaxChainDepthLimit {
		add("max_chain_depth: %d is not in 0..%d", s.MaxChainDepth, MaxChainDepthLimit)
	}
	if s.RefreshGrace < 0 || s.RefreshGrace > MaxRefreshGrace {
		add("refresh_grace: %s is not in [0, %s]", s.RefreshGrace, MaxRefreshGrace)
	}
	if s.KeyAlg != "ES256" && s.KeyAlg != "EdDSA" {
		add("key_alg: %q is not ES256 or EdDSA", s.KeyAlg)
	}
	switch s.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		add("log_level: %q is not debug, info, warn or error", s.LogLevel)
	}
	if s.KeyRotateAfter < time.Hour {
		add("key_rotate_after: %s is shorter than 1h", s.KeyRotateAfter)
	}
	if s.Registration != nil {
		if err := s.Registration.WithDefaults().Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// validateIssuerURL accepts an absolute http or https URL with no query,
// fragment or user info (RFC 8414 §2).
func validateIssuerURL(s string) error {
	u, err := url.Parse(s)
	switch {
	case err != nil || u.Host == "":
		return fmt.Errorf("%q is not an absolute URL", s)
	case u.Scheme != "https" && u.Scheme != "http":
		return fmt.Errorf("%q must use https (or http)", s)
	case u.RawQuery != "" || u.Fragment != "" || u.User != nil:
		return fmt.Errorf("%q must not have a query, fragment or user info", s)
	}
	return nil
}

// ClusterOff as cluster_url keeps an instance out of risk ownership: it
// judges every event it receives itself.
const ClusterOff = "off"

// validateClusterURL accepts an absolute http or https URL with no query,
// fragment or user info.
func validateClusterURL(s string) error { return validateIssuerURL(s) }

// ClusterAddress returns the URL the other instances reach an instance
// listening on listen at: s.ClusterURL when set, otherwise http://listen
// with an unspecified host replaced by hostname (or 127.0.0.1 without one).
func (s Settings) ClusterAddress(listen, hostname string) string {
	if s.ClusterURL != "" {
		return s.ClusterURL
	}
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "http://" + listen
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = cmp.Or(hostname, "127.0.0.1")
	}
	return "http://" + net.JoinHostPort(host, port)
}

// validateStore accepts "", "bolt" and postgres:// URLs.
func validateStore(v string) error {
	if v == "" || v == "bolt" {
		return nil
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return errors.New("want bolt or a postgres:// URL")
	}
	return nil
}

// IsPostgres reports whether store names a PostgreSQL database.
func IsPostgres(store string) bool {
	return strings.HasPrefix(store, "postgres://") || strings.HasPrefix(store, "postgresql://")
}
