// Shared Signals interoperability: a receiver written with Node and jose
// against a real `vigil serve` that this test starts, kills with SIGKILL
// and starts again on the same data directory.
//
//   VIGIL_BIN        the vigil binary (required; run-ssf.sh builds it)
//   VIGIL_CONFIG     configuration to serve (default ../../vigil.yaml)
//   SSF_OUTAGE_MS    how long the receiver stays down (default 60000)
//
// Run with `node --test ssf-signals.mjs` (see run-ssf.sh).
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { createServer } from 'node:http'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as jose from 'jose'

const here = (p) => fileURLToPath(new URL(p, import.meta.url))
const bin = process.env.VIGIL_BIN
if (!bin) throw new Error('set VIGIL_BIN (see run-ssf.sh)')
const config = process.env.VIGIL_CONFIG ?? here('../../vigil.yaml')
const outageMs = Number(process.env.SSF_OUTAGE_MS ?? 60000)
const SESSION_REVOKED = 'https://schemas.openid.net/secevent/caep/event-type/session-revoked'
const VERIFICATION = 'https://schemas.openid.net/secevent/ssf/event-type/verification'
const admin = 'admin-' + Math.random().toString(36).slice(2) + '-0123456789abcdef'
const data = mkdtempSync(join(tmpdir(), 'vigil-ssf-'))
const secret = 'ssf-test-secret-' + Math.random().toString(36).slice(2)
const secrets = readSecrets(readFileSync(config, 'utf8'))
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

function readSecrets (yaml) {
  const out = {}
  for (const block of yaml.split(/\n\s*- id: /).slice(1)) {
    const id = block.match(/^(\S+)/)[1]
    const s = block.match(/\n\s+secret: (\S+)/)
    if (s) out[id] = s[1]
  }
  return out
}

const freePort = () => new Promise((resolve) => {
  const s = createServer().listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)) })
})

const vigilPort = await freePort()
const issuer = `http://127.0.0.1:${vigilPort}`
let vigil

// startVigil serves config on vigilPort with the test's data directory.
async function startVigil () {
  vigil = spawn(bin, ['serve', '--config', config, '--data', data, '--listen', `127.0.0.1:${vigilPort}`, '--issuer', issuer],
    { env: { ...process.env, VIGIL_ADMIN_TOKEN: admin, VIGIL_SECRET: secret }, stdio: ['ignore', 'ignore', 'pipe'] })
  vigil.stderr.on('data', () => {})
  for (let i = 0; i < 150; i++) {
    try { if ((await fetch(`${issuer}/health/ready`)).ok) return } catch {}
    await sleep(200)
  }
  throw new Error('vigil not ready')
}

async function killVigil () {
  const exited = new Promise((resolve) => vigil.once('exit', resolve))
  vigil.kill('SIGKILL')
  await exited
}

after(async () => { if (vigil && vigil.exitCode === null) await killVigil() })

async function json (url, init = {}, want = 200) {
  const resp = await fetch(url, init)
  const text = await resp.text()
  assert.equal(resp.status, want, `${init.method ?? 'GET'} ${url}: ${resp.status} ${text}`)
  return text ? JSON.parse(text) : undefined
}

const basic = (id, s) => 'Basic ' + Buffer.from(`${id}:${s}`).toString('base64')

async function token (id, s, params) {
  const body = new URLSearchParams({ grant_type: 'client_credentials', ...params })
  return (await json(`${issuer}/oauth2/token`, { method: 'POST', body, headers: { authorization: basic(id, s) } })).access_token
}

// receiver is an RFC 8935 push endpoint: every SET is verified with jose
// against Vigil's JWKS (typ secevent+jwt, iss, aud), then kept in arrival
// order; duplicates are recognized by jti. While dropNext is above zero, a
// SET is taken and its connection then cut without an answer, as a
// receiver crashing mid-request would: Vigil must send it again.
function receiver (jwks, audience) {
  const r = { sets: [], jtis: new Set(), duplicates: 0, refused: 0, dropNext: 0, server: null, port: 0, sockets: new Set() }
  r.handler = async (req, res) => {
    let body = ''
    for await (const chunk of req) body += chunk
    try {
      assert.equal(req.headers['content-type'], 'application/secevent+jwt')
      assert.equal(req.headers.authorization, 'Bearer push-secret')
      const { payload, protectedHeader } = await jose.jwtVerify(body, jwks, { issuer, audience, typ: 'secevent+jwt' })
      if (r.jtis.has(payload.jti)) r.duplicates++
      else { r.jtis.add(payload.jti); r.sets.push({ payload, header: protectedHeader, at: Date.now() }) }
      if (r.dropNext > 0) { r.dropNext--; req.socket.destroy(); return }
      res.writeHead(202).end()
    } catch (e) {
      r.refused++
      res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ err: 'invalid_request', description: String(e) }))
    }
  }
  r.start = (port = 0) => new Promise((resolve) => {
    r.server = createServer(r.handler)
    r.server.on('connection', (s) => { r.sockets.add(s); s.on('close', () => r.sockets.delete(s)) })
    r.server.listen(port, '127.0.0.1', () => { r.port = r.server.address().port; resolve() })
  })
  r.stop = () => new Promise((resolve) => { for (const s of r.sockets) s.destroy(); r.server.close(resolve) })
  r.waitFor = async (pred, ms) => {
    const deadline = Date.now() + ms
    while (Date.now() < deadline) {
      const hit = r.sets.find(pred)
      if (hit) return hit
      await sleep(5)
    }
    throw new Error('no matching SET within ' + ms + 'ms')
  }
  return r
}

const sidOf = (set) => set.payload.sub_id?.session?.id

// openSession gets a token for conf-agent and returns its session ID.
async function openSession () {
  const at = await token('conf-agent', secrets['conf-agent'], { audience: 'https://rs1.example', scope: 'tickets.read' })
  const body = new URLSearchParams({ token: at })
  const ans = await json(`${issuer}/oauth2/introspect`, { method: 'POST', body, headers: { authorization: basic('conf-rs1', secrets['conf-rs1']) } })
  assert.equal(ans.active, true)
  return ans.sid
}

const terminate = (sid) => json(`${issuer}/admin/sessions/${sid}/terminate`,
  { method: 'POST', headers: { authorization: `Bearer ${admin}` } })

test('SSF: metadata, stream, session-revoked within 1s, outage and kill -9', { timeout: outageMs + 180000 }, async (t) => {
  await startVigil()
  const meta = await json(`${issuer}/.well-known/ssf-configuration`)
  assert.equal(meta.issuer, issuer)
  assert.ok(meta.delivery_methods_supported.includes('urn:ietf:rfc:8935'))
  const jwks = jose.createRemoteJWKSet(new URL(meta.jwks_uri))

  const created = await json(`${issuer}/admin/clients`, {
    method: 'POST',
    headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
    body: JSON.stringify({ id: 'ssf-node', kind: 'service', grant_types: ['client_credentials'], scopes: ['ssf:manage'] })
  }, 201)
  const mgmt = await token('ssf-node', created.client_secret, { scope: 'ssf:manage' })
  const auth = { authorization: `Bearer ${mgmt}`, 'content-type': 'application/json' }

  const rcv = receiver(jwks, 'ssf-node')
  await rcv.start()
  const stream = await json(meta.configuration_endpoint, {
    method: 'POST',
    headers: auth,
    body: JSON.stringify({
      events_requested: [SESSION_REVOKED],
      delivery: { method: 'urn:ietf:rfc:8935', endpoint_url: `http://127.0.0.1:${rcv.port}/events`, authorization_header: 'Bearer push-secret' }
    })
  }, 201)
  assert.deepEqual(stream.events_delivered, [SESSION_REVOKED])
  assert.equal(stream.iss, issuer)

  await t.test('verification event', async () => {
    await json(meta.verification_endpoint, { method: 'POST', headers: auth, body: JSON.stringify({ stream_id: stream.stream_id, state: 'node-1' }) }, 204)
    const v = await rcv.waitFor((s) => s.payload.events[VERIFICATION], 5000)
    assert.equal(v.payload.events[VERIFICATION].state, 'node-1')
    assert.equal(v.header.typ, 'secevent+jwt')
  })

  await t.test('session-revoked within 1s of a termination', async () => {
    const sid = await openSession()
    const start = Date.now()
    await terminate(sid)
    const set = await rcv.waitFor((s) => sidOf(s) === sid, 1000)
    const ms = set.at - start
    t.diagnostic(`session-revoked received ${ms}ms after the terminate request`)
    const ev = set.payload.events[SESSION_REVOKED]
    assert.equal(ev.initiating_entity, 'admin')
    assert.ok(set.payload.txn && set.payload.toe && set.payload.iat && set.payload.jti)
    assert.equal(set.payload.sub_id.format, 'complex')
  })

  await t.test(`receiver down ${outageMs}ms with vigil killed -9 in between: at least once, in order`, async () => {
    await rcv.stop()
    const sids = []
    for (let i = 0; i < 5; i++) sids.push(await openSession())
    for (const sid of sids) await terminate(sid)
    await sleep(outageMs / 2)
    await killVigil()
    await startVigil()
    await sleep(outageMs / 2)
    rcv.dropNext = 1 // the first SET after the outage is taken but never answered
    await rcv.start(rcv.port)
    const seen = () => rcv.sets.map(sidOf).filter((s) => sids.includes(s))
    const deadline = Date.now() + 90000
    while (seen().length < sids.length && Date.now() < deadline) await sleep(50)
    assert.deepEqual(seen(), sids, 'every SET arrives once (deduplicated by jti), in the order of the terminations')
    t.diagnostic(`duplicates recognized by jti: ${rcv.duplicates}; refused: ${rcv.refused}`)
    assert.ok(rcv.duplicates >= 1, 'the SET whose answer was lost is sent again (at least once)')
    assert.equal(rcv.refused, 0)
  })
  await rcv.stop()
})
