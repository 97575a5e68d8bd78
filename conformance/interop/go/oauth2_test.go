package interop

import (
	"errors"
	"net/url"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// TestXOAuth2_ClientCredentials runs golang.org/x/oauth2/clientcredentials
// with both client authentication styles (RFC 6749 §2.3.1).
func TestXOAuth2_ClientCredentials(t *testing.T) {
	v := newVigil(t)
	tests := []struct {
		name  string
		style oauth2.AuthStyle
	}{
		{"client_secret_basic", oauth2.AuthStyleInHeader},
		{"client_secret_post", oauth2.AuthStyleInParams},
		{"auto-detected", oauth2.AuthStyleAutoDetect},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cc := clientcredentials.Config{ClientID: "conf-agent", ClientSecret: v.secrets["conf-agent"],
				TokenURL: v.TokenEndpoint, Scopes: []string{"tickets.read"}, AuthStyle: tt.style,
				EndpointParams: url.Values{"audience": {"https://rs1.example"}}}
			tok, err := cc.Token(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if !tok.Valid() || tok.TokenType != "Bearer" || tok.Expiry.IsZero() || tok.Extra("scope") != "tickets.read" {
				t.Fatalf("token %+v (scope %v)", tok, tok.Extra("scope"))
			}
			in := v.introspect(t, tok.AccessToken)
			if in["active"] != true || in["client_id"] != "conf-agent" || in["scope"] != "tickets.read" {
				t.Errorf("introspection: %v", in)
			}
		})
	}
}

// TestXOAuth2_WrongSecret checks that x/oauth2 surfaces Vigil's RFC 6749
// §5.2 error as a *oauth2.RetrieveError.
func TestXOAuth2_WrongSecret(t *testing.T) {
	v := newVigil(t)
	for _, style := range []oauth2.AuthStyle{oauth2.AuthStyleInHeader, oauth2.AuthStyleInParams} {
		cc := clientcredentials.Config{ClientID: "conf-agent", ClientSecret: "wrong-secret-0123456789",
			TokenURL: v.TokenEndpoint, AuthStyle: style}
		_, err := cc.Token(t.Context())
		var re *oauth2.RetrieveError
		if !errors.As(err, &re) || re.ErrorCode != "invalid_client" || re.Response.StatusCode != 401 {
			t.Errorf("style %d: error %v, want invalid_client 401", style, err)
		}
	}
}

// TestXOAuth2_Refresh takes the refresh token of a client_credentials grant
// and lets x/oauth2's TokenSource refresh an expired token (RFC 6749 §6);
// Vigil rotates the refresh token on every use.
func TestXOAuth2_Refresh(t *testing.T) {
	v := newVigil(t)
	for _, style := range []oauth2.AuthStyle{oauth2.AuthStyleInHeader, oauth2.AuthStyleInParams} {
		cc := clientcredentials.Config{ClientID: "conf-agent", ClientSecret: v.secrets["conf-agent"],
			TokenURL: v.TokenEndpoint, Scopes: []string{"tickets.read", "kb.read"}, AuthStyle: style,
			EndpointParams: url.Values{"audience": {"https://rs1.example"}}}
		first, err := cc.Token(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if first.RefreshToken == "" {
			t.Fatal("no refresh token for conf-agent")
		}
		conf := oauth2.Config{ClientID: "conf-agent", ClientSecret: v.secrets["conf-agent"],
			Endpoint: oauth2.Endpoint{TokenURL: v.TokenEndpoint, AuthStyle: style}}
		expired := *first
		expired.Expiry = time.Now().Add(-time.Minute)
		src := conf.TokenSource(t.Context(), &expired)
		second, err := src.Token()
		if err != nil {
			t.Fatalf("style %d: refresh: %v", style, err)
		}
		if second.AccessToken == first.AccessToken || second.RefreshToken == "" || second.RefreshToken == first.RefreshToken {
			t.Fatalf("style %d: refresh did not rotate: %+v", style, second)
		}
		if again, err := src.Token(); err != nil || again.AccessToken != second.AccessToken {
			t.Errorf("style %d: a valid token was refreshed again: %v", style, err)
		}
		if in := v.introspect(t, second.AccessToken); in["active"] != true || in["client_id"] != "conf-agent" {
			t.Errorf("style %d: refreshed token: introspection %v", style, in)
		}
	}
}
