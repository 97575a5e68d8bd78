// Package config reads Vigil's declarative configuration file and applies it
// to a store. The file is YAML whose keys are the JSON names of the storage
// records (the same names the admin API uses): server settings, clients,
// resources and trusted external issuers. Decoding is strict: an unknown or
// duplicated key is an error naming its line, and every problem is
// reported at once.
//
// Applying a file upserts its records in one transaction and rewrites only
// those that differ, so applying the same file again changes nothing. The
// file is the truth for what it declares: a client it declared before and
// no longer does is disabled, a resource or trusted issuer deleted. Records
// made through the admin API are left alone.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"gopkg.in/yaml.v3"

	"github.com/vigil-auth/vigil/internal/register"
	"github.com/vigil-auth/vigil/storage"
)

// MaxFileSize is the largest configuration file Load reads.
const MaxFileSize = 4 << 20

// MinSecretLength is the shortest client secret a file or the admin API
// accepts.
const MinSecretLength = 8

// File is a parsed configuration file. Zero settings mean "not set": the
// defaults in [Defaults] apply, and flags or the environment may override.
type File struct {
	Issuer string `json:"issuer"`
	Listen string `json:"listen"`
	Data   string `json:"data"`
	// DataRequired is a pointer so that an explicit false differs from
	// "not set".
	DataRequired *bool `json:"data_required"`
	// DataCacheMiB is a pointer so that an explicit 0 differs from "not set".
	DataCacheMiB *int   `json:"data_cache_mib"`
	Store        string `json:"store"`
	// ClusterURL is where the other instances reach this one (PostgreSQL).
	ClusterURL string `json:"cluster_url"`
	// Durations are pointers so that an explicit 0 differs from "not set":
	// it means zero (refresh_grace: 0s is no grace) or is refused where zero
	// means nothing (a token lifetime, key_rotate_after).
	AccessTokenTTL  *Duration `json:"access_token_ttl"`
	RefreshTokenTTL *Duration `json:"refresh_token_ttl"`
	ExchangeTTL     *Duration `json:"exchange_ttl"`
	// MaxChainDepth is a pointer so that an explicit 0 (no delegation
	// chains) differs from "not set".
	MaxChainDepth  *int      `json:"max_chain_depth"`
	RefreshGrace   *Duration `json:"refresh_grace"`
	KeyAlg         string    `json:"key_alg"`
	KeyRotateAfter *Duration `json:"key_rotate_after"`
	// DPoPNonce requires DPoP proofs to carry a server nonce (RFC 9449 §8);
	// a pointer so that an explicit false differs from "not set".
	DPoPNonce *bool `json:"dpop_nonce"`
	// LogLevel is the least level logged: debug, info, warn or error.
	LogLevel string `json:"log_level"`
	// Policy is the risk policy, kept as raw YAML for the risk engine to
	// decode; its Kind is 0 when the file has none.
	Policy yaml.Node `json:"policy"`
	// Registration is the dynamic client registration policy; nil (no
	// registration: section) turns the registration endpoint off.
	Registration   *register.Policy   `json:"registration"`
	Clients        []Client           `json:"clients"`
	Resources      []storage.Resource `json:"resources"`
	TrustedIssuers []storage.Issuer   `json:"trusted_issuers"`
	// Admins are admin credentials beside the data directory's admin token
	// (which is named "admin" and has the admin role).
	Admins []Admin `json:"admins"`

	// path is the file Load read, and lines the line of each record
	// ("clients[0]"), so that Validate can say where a problem is.
	path  string
	lines map[string]int
}

// Admin is an admin credential as a file declares it: a name (recorded as
// the actor of its changes in the audit log), a role ("admin" or
// "read-only") and the SHA-256 of its bearer token in hex, so the file
// holds no secret.
type Admin struct {
	Name        string `json:"name"`
	Role        string `json:"role"`
	TokenSHA256 string `json:"token_sha256"`
}

// Client is a client as a file declares it: the stored record plus the
// plaintext secret, which is hashed before it is stored. A client that
// names no secret, jwks or jwks_uri keeps whatever credential the store
// already holds for it (one rotated through the admin API, say).
type Client struct {
	storage.Client
	Secret string `json:"secret,omitempty"`
}

// Load reads and strictly decodes the YAML file at path. The result is not
// validated; call [File.Validate].
func Load(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("config: read %s: %w", path, err)
	}
	if len(b) > MaxFileSize {
		return nil, fmt.Errorf("config: %s is larger than %d bytes", path, MaxFileSize)
	}
	cf, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("config: %s: %w", path, err)
	}
	cf.path = path
	return cf, nil
}

// Parse strictly decodes a configuration file's contents. An empty
// document is an empty File.
func Parse(b []byte) (*File, error) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var doc yaml.Node
	if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
		return &File{}, nil
	} else if err != nil {
		return nil, err
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == nil:
		return nil, fmt.Errorf("line %d: a configuration file holds one YAML document", extra.Line)
	case !errors.Is(err, io.EOF):
		return nil, err
	}
	root := &doc
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		root = doc.Content[0]
	}
	var f File
	if err := decodeNode(root, &f); err != nil {
		return nil, err
	}
	f.lines = recordLines(root)
	return &f, nil
}

// recordLines returns the line of every element of the record lists
// (clients, resources, trusted_issuers), keyed "clients[0]".
func recordLines(root *yaml.Node) map[string]int {
	lines := map[string]int{}
	if root.Kind != yaml.MappingNode {
		return lines
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		key, list := root.Content[i].Value, root.Content[i+1]
		if list.Kind != yaml.SequenceNode {
			continue
		}
		for j, el := range list.Content {
			lines[fmt.Sprintf("%s[%d]", key, j)] = el.Line
		}
	}
	return lines
}
