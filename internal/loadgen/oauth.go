package loadgen

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// Wire values of the grants the scenarios use.
const (
	grantClientCredentials = "client_credentials"
	grantTokenExchange     = "urn:ietf:params:oauth:grant-type:token-exchange"
	tokenTypeAccessToken   = "urn:ietf:params:oauth:token-type:access_token"
	formHeader             = "Content-Type: application/x-www-form-urlencoded\r\nAccept: application/json\r\n"
)

// Cred is a client's id and secret, sent as client_secret_basic.
type Cred struct {
	ID     string `json:"id"`
	Secret string `json:"-"`
}

// ParseCred parses "id:secret".
func ParseCred(s string) (Cred, error) {
	id, secret, ok := strings.Cut(s, ":")
	if !ok || id == "" || secret == "" {
		return Cred{}, errors.New("loadgen: credentials must be id:secret")
	}
	return Cred{ID: id, Secret: secret}, nil
}

// header returns the Authorization header line (RFC 6749 §2.3.1: id and
// secret are form-encoded before the Basic encoding) plus the form headers.
func (c Cred) header() string {
	raw := url.QueryEscape(c.ID) + ":" + url.QueryEscape(c.Secret)
	return formHeader + "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(raw)) + "\r\n"
}

// Env is the server under test as the scenarios see it: its endpoints and
// the clients they act as.
type Env struct {
	Target *Target
	// Endpoint paths on Target.
	TokenPath, IntrospectPath, RevokePath string
	// Agents obtain tokens (client_credentials) and exchange them; load is
	// spread over them.
	Agents []Cred
	// Short is an agent whose access tokens live about a second, used to
	// make expired tokens; nil leaves expired tokens out of the mix.
	Short *Cred
	// RS are the resource servers that introspect; load is spread over them.
	RS []Cred
	// Audience is the resource the RS introspect for and exchanges ask for;
	// Scope is the scope exchanges ask for ("" asks for none).
	Audience, Scope string
}

// Validate reports every missing piece of e.
func (e *Env) Validate() error {
	var errs []error
	if e.Target == nil {
		errs = append(errs, errors.New("no target"))
	}
	if e.TokenPath == "" || e.IntrospectPath == "" {
		errs = append(errs, errors.New("token and introspection endpoints are required"))
	}
	if len(e.Agents) == 0 {
		errs = append(errs, errors.New("at least one agent client is required"))
	}
	if len(e.RS) == 0 {
		errs = append(errs, errors.New("a resource server client is required"))
	}
	return errors.Join(errs...)
}

func (e *Env) tokenRequest(c Cred, form url.Values) *Request {
	return &Request{Method: "POST", Path: e.TokenPath, Header: c.header(), Body: []byte(form.Encode())}
}

func (e *Env) ccRequest(c Cred) *Request {
	return e.tokenRequest(c, url.Values{"grant_type": {grantClientCredentials}})
}

func (e *Env) exchangeRequest(c Cred, subject string) *Request {
	f := url.Values{"grant_type": {grantTokenExchange}, "subject_token": {subject},
		"subject_token_type": {tokenTypeAccessToken}}
	if e.Audience != "" {
		f.Set("audience", e.Audience)
	}
	if e.Scope != "" {
		f.Set("scope", e.Scope)
	}
	return e.tokenRequest(c, f)
}

// introspectRequest asks resource server rs about token.
func (e *Env) introspectRequest(rs Cred, token string) *Request {
	return &Request{Method: "POST", Path: e.IntrospectPath, Header: rs.header(),
		Body: []byte("token=" + url.QueryEscape(token))}
}

// issue obtains an access token for c by client_credentials.
func (e *Env) issue(ctx context.Context, conn *Conn, c Cred) (string, error) {
	return e.tokenCall(ctx, conn, e.ccRequest(c))
}

func (e *Env) tokenCall(ctx context.Context, conn *Conn, req *Request) (string, error) {
	resp, err := conn.Do(ctx, req)
	if err != nil {
		return "", err
	}
	if resp.Status != 200 {
		return "", fmt.Errorf("token endpoint: %s", failure(resp))
	}
	tok := jsonString(resp.Body, "access_token")
	if tok == "" {
		return "", errors.New("token endpoint: no access_token in the answer")
	}
	return tok, nil
}

// revoke revokes token as client c (RFC 7009).
func (e *Env) revoke(ctx context.Context, conn *Conn, c Cred, token string) error {
	resp, err := conn.Do(ctx, &Request{Method: "POST", Path: e.RevokePath, Header: c.header(),
		Body: []byte("token=" + url.QueryEscape(token))})
	if err != nil {
		return err
	}
	if resp.Status != 200 {
		return fmt.Errorf("revocation endpoint: %s", failure(resp))
	}
	return nil
}

// failure names a failed answer: "http 401 invalid_client".
func failure(resp Response) string {
	s := "http " + strconv.Itoa(resp.Status)
	if code := jsonString(resp.Body, "error"); code != "" && len(code) <= 64 {
		s += " " + code
	}
	return s
}

// transportFailure names a transport error without its addresses.
func transportFailure(err error) string {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "timeout"):
		return "transport: timeout"
	case strings.Contains(msg, "refused"):
		return "transport: connection refused"
	case strings.Contains(msg, "reset"), strings.Contains(msg, "EOF"), strings.Contains(msg, "broken pipe"):
		return "transport: connection closed"
	case errors.Is(err, errMalformed):
		return "transport: malformed response"
	}
	return "transport: other"
}

// jsonString returns the string member key of a JSON object without
// decoding the whole document ("" if absent or not a string). It is exact
// for the flat answers of token and introspection endpoints; escaped
// strings fall back to encoding/json.
func jsonString(body []byte, key string) string {
	v, ok := jsonValue(body, key)
	if !ok || len(v) < 2 || v[0] != '"' {
		return ""
	}
	end := bytes.IndexByte(v[1:], '"')
	if end < 0 {
		return ""
	}
	s := v[1 : 1+end]
	if bytes.IndexByte(s, '\\') < 0 {
		return string(s)
	}
	var m map[string]any
	if json.Unmarshal(body, &m) == nil {
		str, _ := m[key].(string)
		return str
	}
	return ""
}

// jsonValue returns the text after `"key":` (whitespace skipped) for the
// first occurrence of the key.
func jsonValue(body []byte, key string) ([]byte, bool) {
	pat := make([]byte, 0, len(key)+2)
	pat = append(append(append(pat, '"'), key...), '"')
	for off := 0; ; {
		i := bytes.Index(body[off:], pat)
		if i < 0 {
			return nil, false
		}
		rest := bytes.TrimLeft(body[off+i+len(pat):], " \t\r\n")
		if len(rest) > 0 && rest[0] == ':' {
			return bytes.TrimLeft(rest[1:], " \t\r\n"), true
		}
		off += i + len(pat)
	}
}

// activeOf reads an introspection answer's "active" member.
func activeOf(body []byte) (active, ok bool) {
	v, found := jsonValue(body, "active")
	switch {
	case !found:
		return false, false
	case bytes.HasPrefix(v, []byte("true")):
		return true, true
	case bytes.HasPrefix(v, []byte("false")):
		return false, true
	}
	return false, false
}
