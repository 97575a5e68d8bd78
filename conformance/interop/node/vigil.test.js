// Interoperability tests: panva's openid-client (v6) and jose against a
// running Vigil started with conformance/vigil.yaml.
//
//   VIGIL_URL      issuer of the server under test (required), e.g. http://127.0.0.1:8080
//   VIGIL_CONFIG   the server's configuration file, for the client secrets
//                  (default ../../vigil.yaml)
//   VIGIL_KEYS     the conformance private keys (default ../../protocol/testdata/keys.json)
//   VIGIL_EXPECT_DPOP_NONCE=1  fail unless the token endpoint demands DPoP nonces
//
// Run with `node --test` (see run.sh, which starts a server first).
import { test, before } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import * as client from 'openid-client'
import * as jose from 'jose'

const here = (p) => fileURLToPath(new URL(p, import.meta.url))
const issuer = process.env.VIGIL_URL
if (!issuer) {
  throw new Error('set VIGIL_URL to the issuer of a Vigil started with conformance/vigil.yaml (see run.sh)')
}
const secrets = readSecrets(readFileSync(process.env.VIGIL_CONFIG ?? here('../../vigil.yaml'), 'utf8'))
const testKeys = JSON.parse(readFileSync(process.env.VIGIL_KEYS ?? here('../../protocol/testdata/keys.json'), 'utf8'))

const EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange'
const ACCESS_TOKEN = 'urn:ietf:params:oauth:token-type:access_token'
const RS1 = 'https://rs1.example'

// readSecrets takes each client's id and secret from the YAML of
// conformance/vigil.yaml: `- id: X` starts a client, `secret: Y` inside it.
function readSecrets (yaml) {
  const out = {}
  for (const block of yaml.split(/\n\s*- id: /).slice(1)) {
    const id = block.match(/^(\S+)/)[1]
    const secret = block.match(/\n\s+secret: (\S+)/)
    if (secret) out[id] = secret[1]
  }
  return out
}

// configure discovers Vigil (RFC 8414 metadata: algorithm oauth2) for one
// client. Vigil runs on plain http here, so insecure requests are allowed.
async function configure (clientId, auth, metadata = {}, fetchHook) {
  const options = { algorithm: 'oauth2', execute: [client.allowInsecureRequests] }
  if (fetchHook) options[client.customFetch] = fetchHook
  return client.discovery(new URL(issuer), clientId, metadata, auth, options)
}

const basic = (id) => configure(id, client.ClientSecretBasic(secrets[id]))

// recorder returns a customFetch that keeps every response (cloned) it sees.
function recorder () {
  const seen = []
  const hook = async (url, options) => {
    const resp = await fetch(url, options)
    seen.push({ url: String(url), status: resp.status, headers: resp.headers, body: await resp.clone().text() })
    return resp
  }
  return { seen, hook }
}

let rs1 // conf-rs1, the resource server that introspects tokens for https://rs1.example
let metadata
let jwks

before(async () => {
  rs1 = await basic('conf-rs1')
  metadata = rs1.serverMetadata()
  jwks = jose.createRemoteJWKSet(new URL(metadata.jwks_uri))
})

async function introspect (token) {
  return client.tokenIntrospection(rs1, token)
}

test('discovery reads RFC 8414 metadata', () => {
  assert.equal(metadata.issuer, issuer)
  for (const k of ['token_endpoint', 'introspection_endpoint', 'revocation_endpoint', 'jwks_uri']) {
    assert.ok(metadata[k]?.startsWith(issuer), `${k} = ${metadata[k]}`)
  }
  assert.ok(metadata.grant_types_supported.includes(EXCHANGE))
  assert.ok(metadata.token_endpoint_auth_methods_supported.includes('private_key_jwt'))
})

test('client_credentials with client_secret_basic', async () => {
  const agent = await basic('conf-agent')
  const tok = await client.clientCredentialsGrant(agent, { scope: 'tickets.read', audience: RS1 })
  assert.equal(tok.token_type, 'bearer')
  assert.equal(tok.scope, 'tickets.read')
  assert.ok(tok.expiresIn() > 0)
  const info = await introspect(tok.access_token)
  assert.equal(info.active, true)
  assert.equal(info.client_id, 'conf-agent')
})

test('client_credentials with client_secret_post', async () => {
  const agent = await configure('conf-agent', client.ClientSecretPost(secrets['conf-agent']))
  const tok = await client.clientCredentialsGrant(agent, { scope: 'tickets.read', audience: RS1 })
  assert.equal((await introspect(tok.access_token)).active, true)
})

test('client_credentials with private_key_jwt', async () => {
  const key = await jose.importJWK(testKeys.client, 'ES256')
  const pk = await configure('conf-pkjwt', client.PrivateKeyJwt({ key, kid: testKeys.client.kid }))
  const tok = await client.clientCredentialsGrant(pk, { scope: 'tickets.read', audience: RS1 })
  const info = await introspect(tok.access_token)
  assert.equal(info.active, true)
  assert.equal(info.client_id, 'conf-pkjwt')
})

test('wrong client secret is invalid_client with a Basic challenge', async () => {
  // RFC 6749 §5.2: 401 and WWW-Authenticate when the client used the
  // Authorization header; openid-client surfaces the challenge.
  const bad = await configure('conf-agent', client.ClientSecretBasic('not-the-secret-0123456789'))
  const err = await client.clientCredentialsGrant(bad).then(() => null, (e) => e)
  assert.ok(err instanceof client.WWWAuthenticateChallengeError, `got ${err}`)
  assert.equal(err.status, 401)
  assert.equal(err.cause[0].scheme, 'basic')
  assert.equal((await err.response.json()).error, 'invalid_client')
})

test('token exchange without an actor token narrows the subject token', async () => {
  const agent = await basic('conf-agent')
  const subject = await client.clientCredentialsGrant(agent, { scope: 'tickets.read tickets.write' })
  const ex = await client.genericGrantRequest(agent, EXCHANGE, {
    subject_token: subject.access_token, subject_token_type: ACCESS_TOKEN, audience: RS1, scope: 'tickets.read'
  })
  assert.equal(ex.issued_token_type, ACCESS_TOKEN)
  assert.equal(ex.token_type, 'bearer')
  assert.equal(ex.refresh_token, undefined)
  const info = await introspect(ex.access_token)
  assert.equal(info.active, true)
  assert.equal(info.sub, 'conf-agent')
  assert.equal(info.scope, 'tickets.read')
  assert.equal(info.act, undefined)
})

test('token exchange with an actor token records the delegation', async () => {
  const agent = await basic('conf-agent')
  const actor = await basic('conf-actor')
  const subject = await client.clientCredentialsGrant(agent)
  const actorToken = await client.clientCredentialsGrant(actor)
  const ex = await client.genericGrantRequest(actor, EXCHANGE, {
    subject_token: subject.access_token,
    subject_token_type: ACCESS_TOKEN,
    actor_token: actorToken.access_token,
    actor_token_type: ACCESS_TOKEN,
    audience: RS1,
    scope: 'tickets.read'
  })
  assert.equal(ex.issued_token_type, ACCESS_TOKEN)
  const info = await introspect(ex.access_token)
  assert.equal(info.active, true)
  assert.equal(info.sub, 'conf-agent')
  assert.equal(info.act?.sub, 'conf-actor')
})

test('token exchange refuses an actor the subject did not name', async () => {
  const agent = await basic('conf-agent')
  const other = await basic('conf-actor2')
  const subject = await client.clientCredentialsGrant(agent)
  const otherToken = await client.clientCredentialsGrant(other)
  await assert.rejects(client.genericGrantRequest(other, EXCHANGE, {
    subject_token: subject.access_token,
    subject_token_type: ACCESS_TOKEN,
    actor_token: otherToken.access_token,
    actor_token_type: ACCESS_TOKEN,
    audience: RS1
  }), (err) => err.error === 'invalid_request' || err.error === 'invalid_target')
})

test('DPoP-bound client_credentials, with the nonce retry when demanded', async (t) => {
  const rec = recorder()
  const agent = await configure('conf-agent', client.ClientSecretBasic(secrets['conf-agent']), {}, rec.hook)
  const keyPair = await client.randomDPoPKeyPair('ES256')
  const dpop = client.getDPoPHandle(agent, keyPair)
  const tok = await client.clientCredentialsGrant(agent, { scope: 'tickets.read', audience: RS1 }, { DPoP: dpop })
  assert.equal(tok.token_type, 'dpop')
  const jkt = await jose.calculateJwkThumbprint(await jose.exportJWK(keyPair.publicKey), 'sha256')
  const info = await introspect(tok.access_token)
  assert.equal(info.active, true)
  assert.equal(info.token_type, 'DPoP')
  assert.equal(info.cnf?.jkt, jkt)

  const tokenCalls = rec.seen.filter((r) => r.url === metadata.token_endpoint)
  const demanded = tokenCalls[0].status === 400 && JSON.parse(tokenCalls[0].body).error === 'use_dpop_nonce'
  if (!demanded) {
    assert.notEqual(process.env.VIGIL_EXPECT_DPOP_NONCE, '1', 'the server was expected to demand a DPoP nonce')
    assert.equal(tokenCalls.length, 1)
    t.diagnostic('server does not require DPoP nonces: nonce retry not exercised')
    return
  }
  assert.ok(tokenCalls[0].headers.get('dpop-nonce'), 'use_dpop_nonce without a DPoP-Nonce header')
  assert.equal(tokenCalls.length, 2)
  assert.equal(tokenCalls[1].status, 200)
  // The handle remembers the nonce: the next request needs no retry.
  const before = rec.seen.length
  await client.clientCredentialsGrant(agent, { scope: 'tickets.read', audience: RS1 }, { DPoP: dpop })
  assert.equal(rec.seen.length - before, 1)
})

test('DPoP binding is kept: a bound token cannot be exchanged without a proof', async () => {
  const agent = await basic('conf-agent')
  const keyPair = await client.randomDPoPKeyPair('ES256')
  const dpop = client.getDPoPHandle(agent, keyPair)
  const tok = await client.clientCredentialsGrant(agent, { scope: 'tickets.read' }, { DPoP: dpop })
  await assert.rejects(client.genericGrantRequest(agent, EXCHANGE, {
    subject_token: tok.access_token, subject_token_type: ACCESS_TOKEN, audience: RS1
  }), (err) => err.error === 'invalid_dpop_proof')
  const ex = await client.genericGrantRequest(agent, EXCHANGE, {
    subject_token: tok.access_token, subject_token_type: ACCESS_TOKEN, audience: RS1
  }, { DPoP: dpop })
  assert.equal(ex.token_type, 'dpop')
})

test('introspection: RFC 7662 JSON with the risk verdict', async () => {
  const agent = await basic('conf-agent')
  const tok = await client.clientCredentialsGrant(agent, { scope: 'tickets.read', audience: RS1 })
  const info = await client.tokenIntrospection(rs1, tok.access_token, { tool: 'tickets.get', ip: '192.0.2.7' })
  assert.equal(info.active, true)
  assert.equal(info.aud, RS1)
  assert.equal(info.iss, issuer)
  assert.ok(['allow', 'step_up', 'deny', 'terminate'].includes(info.risk?.action), JSON.stringify(info.risk))
  assert.equal((await client.tokenIntrospection(rs1, 'not-a-token')).active, false)
})

test('introspection: RFC 9701 JWT answer, verified with jose against the JWKS', async () => {
  const rec = recorder()
  const alg = metadata.introspection_signing_alg_values_supported?.[0] ?? 'ES256'
  const signed = await configure('conf-rs1', client.ClientSecretBasic(secrets['conf-rs1']),
    { introspection_signed_response_alg: alg }, rec.hook)
  client.enableNonRepudiationChecks(signed)
  const agent = await basic('conf-agent')
  const tok = await client.clientCredentialsGrant(agent, { scope: 'tickets.read', audience: RS1 })
  const info = await client.tokenIntrospection(signed, tok.access_token)
  assert.equal(info.active, true)
  assert.equal(info.client_id, 'conf-agent')

  const answer = rec.seen.find((r) => r.url === metadata.introspection_endpoint)
  assert.equal(answer.headers.get('content-type'), 'application/token-introspection+jwt')
  const { payload, protectedHeader } = await jose.jwtVerify(answer.body, jwks, {
    issuer, audience: 'conf-rs1', typ: 'token-introspection+jwt', algorithms: [alg]
  })
  assert.equal(protectedHeader.alg, alg)
  assert.equal(payload.token_introspection.active, true)
  assert.equal(payload.token_introspection.sub, info.sub)
})

test('revocation (RFC 7009) makes the token inactive', async () => {
  const agent = await basic('conf-agent')
  const tok = await client.clientCredentialsGrant(agent, { scope: 'tickets.read', audience: RS1 })
  assert.equal((await introspect(tok.access_token)).active, true)
  await client.tokenRevocation(agent, tok.access_token)
  assert.equal((await introspect(tok.access_token)).active, false)
  await client.tokenRevocation(agent, 'unknown-token') // 200 for unknown tokens
})

test('JWT access token (RFC 9068) verifies with jose against the JWKS', async () => {
  const jwtClient = await basic('conf-jwt')
  const tok = await client.clientCredentialsGrant(jwtClient, { scope: 'tickets.read', audience: RS1 })
  const algorithms = ['ES256', 'ES384', 'EdDSA', 'RS256', 'PS256']
  const { payload } = await jose.jwtVerify(tok.access_token, jwks, { issuer, audience: RS1, typ: 'at+jwt', algorithms })
  assert.equal(payload.client_id, 'conf-jwt')
  assert.ok(payload.sub && payload.jti && payload.iat && payload.exp > payload.iat)
  await assert.rejects(jose.jwtVerify(tok.access_token, jwks, { issuer, audience: 'https://rs2.example', typ: 'at+jwt', algorithms }))
  await assert.rejects(jose.jwtVerify(tok.access_token, jwks, { issuer, audience: RS1, typ: 'JWT', algorithms }))
})
