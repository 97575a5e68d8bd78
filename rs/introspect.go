package rs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
)

// ErrIntrospection reports that the introspection endpoint could not give
// a usable answer: unreachable, an error status, or a malformed body. The
// middleware answers 503 for it and never lets the request through.
var ErrIntrospection = errors.New("rs: introspection failed")

// maxAnswer bounds the introspection answer read.
const maxAnswer = 1 << 20

// usage is the call context reported with the question.
type usage struct {
	tool, ip, tenant string
}

// introspector asks the introspection endpoint about tokens.
type introspector struct {
	cfg Config
	hc  *http.Client
}

// ask introspects token and returns the decoded answer.
func (in introspector) ask(ctx context.Context, token string, u usage) (answer, error) {
	req, err := in.request(ctx, token, u)
	if err != nil {
		return answer{}, err
	}
	resp, err := in.hc.Do(req)
	if err != nil {
		return answer{}, fmt.Errorf("%w: %w", ErrIntrospection, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return answer{}, fmt.Errorf("%w: read answer: %w", ErrIntrospection, err)
	}
	return decodeAnswer(resp, body)
}

// request builds the RFC 7662 §2.1 request, authenticated as the resource server.
func (in introspector) request(ctx context.Context, token string, u usage) (*http.Request, error) {
	form := url.Values{"token": {token}, "token_type_hint": {"access_token"}}
	for k, v := range map[string]string{"tool": u.tool, "ip": u.ip, "tenant": u.tenant} {
		if v != "" {
			form.Set(k, v)
		}
	}
	if in.cfg.ClientAssertion != nil {
		a, err := in.cfg.ClientAssertion(ctx)
		if err != nil {
			return nil, fmt.Errorf("%w: client assertion: %w", ErrIntrospection, err)
		}
		form.Set("client_id", in.cfg.ClientID)
		form.Set("client_assertion_type", AssertionType)
		form.Set("client_assertion", a)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, in.cfg.IntrospectionURL, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrIntrospection, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if in.cfg.ClientAssertion == nil {
		req.SetBasicAuth(url.QueryEscape(in.cfg.ClientID), url.QueryEscape(in.cfg.ClientSecret))
	}
	return req, nil
}

// decodeAnswer accepts only a 200 JSON answer with a boolean active member.
func decodeAnswer(resp *http.Response, body []byte) (answer, error) {
	if resp.StatusCode != http.StatusOK {
		return answer{}, fmt.Errorf("%w: status %d", ErrIntrospection, resp.StatusCode)
	}
	if mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return answer{}, fmt.Errorf("%w: content type %q", ErrIntrospection, resp.Header.Get("Content-Type"))
	}
	var probe struct {
		Active *bool `json:"active"`
	}
	if err := json.Unmarshal(body, &probe); err != nil || probe.Active == nil {
		return answer{}, fmt.Errorf("%w: answer without a boolean active member", ErrIntrospection)
	}
	var a answer
	if !*probe.Active {
		return a, nil
	}
	if err := json.Unmarshal(body, &a); err != nil {
		return answer{}, fmt.Errorf("%w: decode answer: %w", ErrIntrospection, err)
	}
	return a, nil
}
