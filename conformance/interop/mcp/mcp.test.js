// Interoperability tests: the official MCP TypeScript SDK
// (@modelcontextprotocol/sdk) with its own OAuth providers for machine
// clients (client credentials with client_secret_basic, and
// private_key_jwt), preconfigured or registered through the SDK's own
// RFC 7591 client, against the example MCP tool server protected by a
// running Vigil. run.sh starts both and sets:
//
//   VIGIL_URL          Vigil's issuer
//   MCP_URL            the tool server's MCP endpoint
//   VIGIL_ADMIN_TOKEN  the admin token, to terminate sessions
//   VIGIL_CONFIG       the served configuration (for the client secret)
//   VIGIL_AGENT_KEY    the private JWK of the configured client mcp-agent
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { ClientCredentialsProvider, PrivateKeyJwtProvider } from '@modelcontextprotocol/sdk/client/auth-extensions.js'
import { discoverAuthorizationServerMetadata, registerClient } from '@modelcontextprotocol/sdk/client/auth.js'
import { generateKeyPairSync } from 'node:crypto'

const env = (name) => {
  const v = process.env[name]
  if (!v) throw new Error(`set ${name} (see run.sh)`)
  return v
}
const issuer = env('VIGIL_URL')
const mcpURL = env('MCP_URL')
const adminToken = env('VIGIL_ADMIN_TOKEN')
const config = readFileSync(env('VIGIL_CONFIG'), 'utf8')
const agentKey = JSON.parse(readFileSync(env('VIGIL_AGENT_KEY'), 'utf8'))

// secretOf reads a client's secret from the served YAML: `- id: X` starts
// a client, `secret: Y` inside it.
function secretOf (id) {
  for (const block of config.split(/\n\s*- id: /).slice(1)) {
    if (block.match(/^(\S+)/)[1] === id) return block.match(/\n\s+secret: (\S+)/)[1]
  }
  throw new Error(`no secret for ${id}`)
}

async function admin (method, path, body) {
  const res = await fetch(issuer + path, {
    method,
    headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined
  })
  const text = await res.text()
  return { status: res.status, body: text ? JSON.parse(text) : null }
}

async function terminateAll (clientId) {
  const { body } = await admin('GET', `/admin/sessions?client=${clientId}&status=active`)
  for (const s of body.sessions) {
    const r = await admin('POST', `/admin/sessions/${s.sid}/terminate`)
    assert.equal(r.status, 200)
  }
  return body.sessions.length
}

// connect connects the SDK's client through a fetch that records every
// exchange (method, URL, status, WWW-Authenticate) in seen, so the tests
// can check what the SDK itself met.
async function connect (provider, seen = []) {
  const recording = async (input, init) => {
    const res = await fetch(input, init)
    seen.push({ method: init?.method ?? 'GET', url: String(input), status: res.status, challenge: res.headers.get('www-authenticate') })
    return res
  }
  const client = new Client({ name: 'ts-sdk-interop', version: '1.0.0' })
  await client.connect(new StreamableHTTPClientTransport(new URL(mcpURL), { authProvider: provider, fetch: recording }))
  return client
}

const metadataURL = () => {
  const u = new URL(mcpURL)
  return `${u.origin}/.well-known/oauth-protected-resource${u.pathname}`
}

const text = (res) => res.content.filter((c) => c.type === 'text').map((c) => c.text).join(' ')

async function rawCall (token) {
  return fetch(mcpURL, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/list' })
  })
}

// exercise: discovery from the 401 (RFC 9728, RFC 8414), the provider's
// grant, tool calls; then an admin terminates the session: the token the
// SDK holds is refused with a 401 pointing at the metadata, and the SDK
// authorizes again (a new session) and goes on.
async function exercise (provider, clientId) {
  const seen = []
  const client = await connect(provider, seen)
  try {
    // Discovery, as the SDK did it: a 401 naming the resource metadata,
    // the metadata, Vigil's RFC 8414 metadata, then the token endpoint.
    const first = seen.findIndex((e) => e.url === mcpURL && e.status === 401)
    assert.ok(first >= 0, 'the SDK met a 401 first')
    assert.match(seen[first].challenge, new RegExp(`resource_metadata="${metadataURL()}"`))
    const after = seen.slice(first).map((e) => `${e.status} ${e.url}`)
    assert.ok(after.includes(`200 ${metadataURL()}`), `the SDK read the resource metadata: ${after}`)
    assert.ok(after.includes(`200 ${issuer}/.well-known/oauth-authorization-server`), `the SDK read Vigil's metadata: ${after}`)
    assert.ok(after.includes(`200 ${issuer}/oauth2/token`), `the SDK got a token: ${after}`)

    const { tools } = await client.listTools()
    assert.deepEqual(tools.map((t) => t.name).sort(), ['tickets.comment', 'tickets.delete', 'tickets.escalate', 'tickets.get'])
    const got = await client.callTool({ name: 'tickets.get', arguments: { id: 'T-1' } })
    assert.match(text(got), /Printer on fire/)
    const commented = await client.callTool({ name: 'tickets.comment', arguments: { id: 'T-1', text: `from ${clientId}` } })
    assert.equal(text(commented), 'comment added')

    const old = provider.tokens().access_token
    assert.ok(await terminateAll(clientId) >= 1, 'a session to terminate')
    const refused = await rawCall(old)
    assert.equal(refused.status, 401)
    const challenge = refused.headers.get('www-authenticate')
    assert.match(challenge, /error="invalid_token"/)
    assert.match(challenge, /resource_metadata="[^"]+\/\.well-known\/oauth-protected-resource\/mcp"/)

    // The SDK's own next call meets the same refusal, then authorizes anew.
    const mark = seen.length
    const again = await client.callTool({ name: 'tickets.get', arguments: { id: 'T-1' } })
    assert.match(text(again), new RegExp(`from ${clientId}`))
    assert.notEqual(provider.tokens().access_token, old, 'the SDK got a new token')
    const met = seen.slice(mark)
    const refusal = met.find((e) => e.url === mcpURL && e.status === 401)
    assert.ok(refusal, `the SDK's call after the termination was refused: ${met.map((e) => `${e.status} ${e.url}`)}`)
    assert.match(refusal.challenge, /error="invalid_token"/)
    assert.ok(met.some((e) => e.url === `${issuer}/oauth2/token` && e.status === 200), 'the SDK opened a new session')
  } finally {
    await client.close()
  }
}

test('client_credentials with client_secret_basic (ClientCredentialsProvider)', async () => {
  const provider = new ClientCredentialsProvider({
    clientId: 'interop-secret', clientSecret: secretOf('interop-secret'), expectedIssuer: issuer
  })
  await exercise(provider, 'interop-secret')
})

test('client_credentials with private_key_jwt (PrivateKeyJwtProvider)', async () => {
  const provider = new PrivateKeyJwtProvider({
    clientId: 'mcp-agent', privateKey: agentKey, algorithm: 'ES256', expectedIssuer: issuer
  })
  await exercise(provider, 'mcp-agent')
})

// initialToken has an admin issue a single-use initial access token.
async function initialToken () {
  const r = await admin('POST', '/admin/initial-access-tokens', { description: 'ts-sdk-interop', max_uses: 1, expires_in: '10m' })
  assert.equal(r.status, 201)
  return r.body.token
}

// register registers a client through the SDK's registerClient at the
// endpoint Vigil's RFC 8414 metadata names, presenting an initial access
// token. The SDK's types require redirect_uris; Vigil takes an empty list.
async function register (clientMetadata) {
  const metadata = await discoverAuthorizationServerMetadata(issuer)
  assert.equal(metadata.registration_endpoint, `${issuer}/oauth2/register`)
  const token = await initialToken()
  const withToken = (url, init) => fetch(url, { ...init, headers: { ...init?.headers, authorization: `Bearer ${token}` } })
  return registerClient(issuer, {
    metadata, clientMetadata: { redirect_uris: [], grant_types: ['client_credentials'], ...clientMetadata }, fetchFn: withToken
  })
}

test('registered through the SDK (RFC 7591), client_secret_basic (ClientCredentialsProvider)', async () => {
  const info = await register({ client_name: 'ts-sdk-registered', token_endpoint_auth_method: 'client_secret_basic' })
  assert.match(info.client_id, /^dcr-/)
  assert.ok(info.client_secret, 'a generated secret')
  const provider = new ClientCredentialsProvider({ clientId: info.client_id, clientSecret: info.client_secret, expectedIssuer: issuer })
  await exercise(provider, info.client_id)
})

test('registered through the SDK (RFC 7591) with its key, private_key_jwt (PrivateKeyJwtProvider)', async () => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const pub = { ...publicKey.export({ format: 'jwk' }), kid: 'ts-1', alg: 'ES256', use: 'sig' }
  const info = await register({ client_name: 'ts-sdk-registered-key', token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [pub] } })
  assert.equal(info.client_secret, undefined, 'no secret for a key client')
  const provider = new PrivateKeyJwtProvider({
    clientId: info.client_id, privateKey: { ...privateKey.export({ format: 'jwk' }), kid: 'ts-1', alg: 'ES256' }, algorithm: 'ES256', expectedIssuer: issuer
  })
  await exercise(provider, info.client_id)
})

test('refused once the client is deleted', async () => {
  const spec = { id: 'ts-doomed', kind: 'service', secret: 'ts-doomed-example-secret-change-me-0000004',
    grant_types: ['client_credentials'], scopes: ['tickets:read', 'tickets:write'], audiences: [mcpURL] }
  assert.equal((await admin('POST', '/admin/clients', spec)).status, 201)
  const provider = new ClientCredentialsProvider({ clientId: spec.id, clientSecret: spec.secret, expectedIssuer: issuer })
  const seen = []
  const client = await connect(provider, seen)
  try {
    await client.callTool({ name: 'tickets.get', arguments: { id: 'T-2' } })
    assert.equal((await admin('DELETE', `/admin/clients/${spec.id}`)).status, 200)
    const mark = seen.length
    await assert.rejects(client.callTool({ name: 'tickets.get', arguments: { id: 'T-2' } }))
    // The tool server refused the deleted client's token, and Vigil
    // refused the SDK's attempt to authorize again.
    const met = seen.slice(mark)
    assert.ok(met.some((e) => e.url === mcpURL && e.status === 401), `tool server: ${met.map((e) => `${e.status} ${e.url}`)}`)
    assert.ok(met.some((e) => e.url === `${issuer}/oauth2/token` && e.status === 401), `token endpoint: ${met.map((e) => `${e.status} ${e.url}`)}`)
  } finally {
    await client.close().catch(() => {})
  }
})
