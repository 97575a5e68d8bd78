"""Interoperability of Vigil with Python's Authlib (Debian's python3-authlib).

Runs against a server serving conformance/vigil.yaml at VIGIL_URL, as an
operator's scripts would use Authlib: discovery, client_secret_basic and
client_secret_post, private_key_jwt (strict, and with the per-client
assertion_compat setting Authlib's defaults need), refresh rotation, token
exchange with and without an actor, introspection (JSON and RFC 9701),
revocation, JWT access tokens verified against the JWKS, and error codes
surfacing as OAuthError.
"""

import base64
import hashlib
import json
import os
import time
import unittest
from pathlib import Path

import requests
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from authlib.jose import JsonWebKey, jwt
from authlib.oauth2.rfc7523 import PrivateKeyJWT, private_key_jwt_sign

URL = os.environ["VIGIL_URL"].rstrip("/")
HERE = Path(__file__).resolve().parent
CONFORMANCE = HERE.parent.parent
EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN = "urn:ietf:params:oauth:token-type:access_token"
RS1 = "https://rs1.example"


def load_secrets():
    """Client secrets from conformance/vigil.yaml (simple `id:` / `secret:` lines)."""
    secrets, current = {}, None
    for line in (CONFORMANCE / "vigil.yaml").read_text().splitlines():
        line = line.strip()
        if line.startswith("- id:"):
            current = line.split(":", 1)[1].strip()
        elif line.startswith("secret:") and current:
            secrets[current] = line.split(":", 1)[1].strip()
    return secrets


SECRETS = load_secrets()
CLIENT_KEY = json.loads((CONFORMANCE / "protocol" / "testdata" / "keys.json").read_text())["client"]
META = requests.get(URL + "/.well-known/oauth-authorization-server", timeout=10).json()
ISSUER = META["issuer"]
TOKEN = META["token_endpoint"]


def session(client_id, method="client_secret_basic"):
    return OAuth2Session(client_id, SECRETS.get(client_id), token_endpoint_auth_method=method)


def cc(client_id, method="client_secret_basic", **params):
    return session(client_id, method).fetch_token(TOKEN, grant_type="client_credentials", **params)


def introspect(token, rs="conf-rs1", **headers):
    resp = session(rs).introspect_token(META["introspection_endpoint"], token=token, headers=headers or None)
    resp.raise_for_status()
    return resp


def jwks():
    return JsonWebKey.import_key_set(requests.get(META["jwks_uri"], timeout=10).json())


class StrictPrivateKeyJWT(PrivateKeyJWT):
    """Authlib's PrivateKeyJWT with the issuer as audience and a short exp."""

    def sign(self, auth, token_endpoint):
        self.claims = {"exp": int(time.time()) + 60}
        return super().sign(auth, ISSUER)


def pkjwt_session(client_id, auth_method):
    s = OAuth2Session(client_id, CLIENT_KEY, token_endpoint_auth_method="private_key_jwt")
    s.register_client_auth_method(auth_method)
    return s


class Discovery(unittest.TestCase):
    def test_metadata(self):
        self.assertEqual(ISSUER, URL)
        self.assertEqual(TOKEN, URL + "/oauth2/token")
        for k in ("introspection_endpoint", "revocation_endpoint", "jwks_uri"):
            self.assertTrue(META[k].startswith(URL), k)
        self.assertIn("private_key_jwt", META["token_endpoint_auth_methods_supported"])
        self.assertIn(EXCHANGE, META["grant_types_supported"])


class ClientAuthentication(unittest.TestCase):
    def test_client_secret_basic(self):
        tok = cc("conf-agent", scope="tickets.read", audience=RS1)
        self.assertEqual(tok["token_type"].lower(), "bearer")
        self.assertTrue(introspect(tok["access_token"]).json()["active"])

    def test_client_secret_post(self):
        tok = cc("conf-agent", "client_secret_post", scope="tickets.read", audience=RS1)
        self.assertTrue(introspect(tok["access_token"]).json()["active"])

    def test_private_key_jwt_strict_with_issuer_audience(self):
        s = pkjwt_session("conf-pkjwt", StrictPrivateKeyJWT(alg="ES256"))
        tok = s.fetch_token(TOKEN, grant_type="client_credentials", scope="tickets.read")
        self.assertEqual(introspect(tok["access_token"]).json()["client_id"], "conf-pkjwt")

    def test_private_key_jwt_defaults_refused_for_a_strict_client(self):
        # Authlib's defaults: aud = the token endpoint URL, exp an hour ahead.
        s = pkjwt_session("conf-pkjwt", PrivateKeyJWT(TOKEN, alg="ES256"))
        with self.assertRaises(OAuthError) as ctx:
            s.fetch_token(TOKEN, grant_type="client_credentials")
        self.assertEqual(ctx.exception.error, "invalid_client")

    def test_private_key_jwt_defaults_with_assertion_compat(self):
        s = pkjwt_session("conf-pkjwt-compat", PrivateKeyJWT(TOKEN, alg="ES256"))
        tok = s.fetch_token(TOKEN, grant_type="client_credentials", scope="tickets.read")
        self.assertEqual(introspect(tok["access_token"]).json()["client_id"], "conf-pkjwt-compat")
        # The assertion's jti is single use, compat or not: the same assertion twice fails.
        assertion = private_key_jwt_sign(CLIENT_KEY, "conf-pkjwt-compat", TOKEN, alg="ES256")
        if isinstance(assertion, bytes):
            assertion = assertion.decode()
        form = {"grant_type": "client_credentials", "client_assertion": assertion,
                "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}
        self.assertEqual(requests.post(TOKEN, data=form, timeout=10).status_code, 200)
        again = requests.post(TOKEN, data=form, timeout=10)
        self.assertEqual((again.status_code, again.json()["error"]), (401, "invalid_client"))


class Refresh(unittest.TestCase):
    def test_refresh_rotates(self):
        s = session("conf-agent")
        first = s.fetch_token(TOKEN, grant_type="client_credentials", scope="tickets.read", audience=RS1)
        self.assertIn("refresh_token", first)
        second = s.refresh_token(TOKEN, refresh_token=first["refresh_token"])
        self.assertNotEqual(second["refresh_token"], first["refresh_token"])
        self.assertNotEqual(second["access_token"], first["access_token"])
        self.assertTrue(introspect(second["access_token"]).json()["active"])


class Exchange(unittest.TestCase):
    def test_without_actor(self):
        subject = cc("conf-agent", scope="tickets.read tickets.write")
        ex = session("conf-agent").fetch_token(
            TOKEN, grant_type=EXCHANGE, subject_token=subject["access_token"],
            subject_token_type=ACCESS_TOKEN, audience=RS1, scope="tickets.read")
        self.assertEqual(ex["issued_token_type"], ACCESS_TOKEN)
        self.assertNotIn("refresh_token", ex)
        info = introspect(ex["access_token"]).json()
        self.assertEqual((info["sub"], info["scope"]), ("conf-agent", "tickets.read"))
        self.assertNotIn("act", info)

    def test_with_actor(self):
        subject = cc("conf-agent")
        actor = cc("conf-actor")
        ex = session("conf-actor").fetch_token(
            TOKEN, grant_type=EXCHANGE, subject_token=subject["access_token"],
            subject_token_type=ACCESS_TOKEN, actor_token=actor["access_token"],
            actor_token_type=ACCESS_TOKEN, audience=RS1, scope="tickets.read")
        info = introspect(ex["access_token"]).json()
        self.assertEqual(info["sub"], "conf-agent")
        self.assertEqual(info["act"]["sub"], "conf-actor")

    def test_actor_not_named_by_the_subject(self):
        subject = cc("conf-agent")
        other = cc("conf-actor2")
        with self.assertRaises(OAuthError) as ctx:
            session("conf-actor2").fetch_token(
                TOKEN, grant_type=EXCHANGE, subject_token=subject["access_token"],
                subject_token_type=ACCESS_TOKEN, actor_token=other["access_token"],
                actor_token_type=ACCESS_TOKEN, audience=RS1)
        # RFC 8693 §2.2.2: an actor the subject does not allow is a bad request.
        self.assertEqual(ctx.exception.error, "invalid_request")


class IntrospectionAndRevocation(unittest.TestCase):
    def test_jwt_access_token_verified_with_jwks(self):
        tok = cc("conf-jwt", scope="tickets.read")["access_token"]
        claims = jwt.decode(tok, jwks(), claims_options={
            "iss": {"essential": True, "value": ISSUER}, "aud": {"essential": True, "value": RS1}})
        claims.validate()
        self.assertEqual(claims.header["typ"], "at+jwt")
        info = introspect(tok).json()
        self.assertTrue(info["active"])
        # RFC 7662 §2.2: jti is the token's own identifier.
        self.assertEqual(info["jti"], claims["jti"])

    def jwt_introspection(self, token):
        resp = introspect(token, Accept="application/token-introspection+jwt")
        self.assertTrue(resp.headers["Content-Type"].startswith("application/token-introspection+jwt"))
        claims = jwt.decode(resp.text, jwks(), claims_options={
            "iss": {"essential": True, "value": ISSUER}, "aud": {"essential": True, "value": "conf-rs1"}})
        claims.validate()
        self.assertEqual(claims.header["typ"], "token-introspection+jwt")
        return claims["token_introspection"]

    def test_jwt_introspection_answer(self):
        tok = cc("conf-agent", scope="tickets.read", audience=RS1)["access_token"]
        answer = self.jwt_introspection(tok)
        self.assertTrue(answer["active"])
        # An opaque token's jti is stable, the same in both answers, and
        # not the token's storage key (its SHA-256).
        self.assertEqual(answer["jti"], introspect(tok).json()["jti"])
        self.assertEqual(answer["jti"], self.jwt_introspection(tok)["jti"])
        key = base64.urlsafe_b64encode(hashlib.sha256(tok.encode()).digest()).rstrip(b"=").decode()
        self.assertNotIn(answer["jti"], key)

    def test_jwt_introspection_answer_names_the_jwts_jti(self):
        tok = cc("conf-jwt", scope="tickets.read")["access_token"]
        claims = jwt.decode(tok, jwks())
        self.assertEqual(self.jwt_introspection(tok)["jti"], claims["jti"])

    def test_revocation(self):
        s = session("conf-agent")
        tok = s.fetch_token(TOKEN, grant_type="client_credentials", scope="tickets.read", audience=RS1)
        resp = s.revoke_token(META["revocation_endpoint"], token=tok["access_token"], token_type_hint="access_token")
        self.assertEqual(resp.status_code, 200)
        self.assertEqual(introspect(tok["access_token"]).json(), {"active": False})

    def test_introspection_not_meant_for_the_caller(self):
        tok = cc("conf-agent", audience=RS1)["access_token"]
        self.assertEqual(introspect(tok, rs="conf-rs2").json(), {"active": False})


class Errors(unittest.TestCase):
    def assertOAuthError(self, code, fn):
        with self.assertRaises(OAuthError) as ctx:
            fn()
        self.assertEqual(ctx.exception.error, code)
        self.assertIsInstance(ctx.exception, AuthlibBaseError)

    def test_wrong_secret(self):
        s = OAuth2Session("conf-agent", "not-the-secret-0123456789abcdefghijklm")
        self.assertOAuthError("invalid_client", lambda: s.fetch_token(TOKEN, grant_type="client_credentials"))

    def test_unknown_scope(self):
        self.assertOAuthError("invalid_scope", lambda: cc("conf-agent", scope="admin.everything"))

    def test_audience_not_registered(self):
        self.assertOAuthError("invalid_target", lambda: cc("conf-agent", audience="https://elsewhere.example"))

    def test_grant_not_registered(self):
        self.assertOAuthError("unauthorized_client", lambda: session("conf-actor2").refresh_token(
            TOKEN, refresh_token="vgl_rt_unknown"))

    def test_unknown_refresh_token(self):
        self.assertOAuthError("invalid_grant", lambda: session("conf-agent").refresh_token(
            TOKEN, refresh_token="vgl_rt_not-a-token"))


if __name__ == "__main__":
    unittest.main(verbosity=2)
