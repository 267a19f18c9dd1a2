// How the registry sink asks for a blob again through the contract (`{ streamAgain }` from
// commit, never a thrown retryable error): a registry that refuses PATCH (the rest of the pass is
// taken unsent, then one PUT per blob), and a layer the tag's image seemed to hold but the registry
// lacks. A small node:http server on loopback plays the registry; the fetch is real.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { MediaType, sha256Digest, silentLogger, type RunEvent } from '@modelcar/core'
import { createRegistryAuth, RegistryClient } from '@modelcar/registry'
import { RegistryBlobs } from './registry-blobs.js'

interface Seen {
  method: string
  path: string
  bytes: number
}

let server: Server
let url: string
const seen: Seen[] = []
/** Blobs the fake registry holds, by digest. */
const held = new Set<string>()
let refusePatch = false
let tagged: Uint8Array | undefined

function answer(req: IncomingMessage, res: ServerResponse, body: Buffer): void {
  const path = (req.url ?? '').split('?')[0]!
  if (req.method === 'PATCH' && refusePatch) {
    res.writeHead(405, { 'content-type': 'application/json' })
    return void res.end('{"errors":[{"code":"UNSUPPORTED","message":"chunked uploads are not supported"}]}')
  }
  if (req.method === 'POST') return void res.writeHead(202, { location: '/v2/r/blobs/uploads/u1' }).end()
  if (req.method === 'PATCH') return void res.writeHead(202, { location: '/v2/r/blobs/uploads/u1?_state=2' }).end()
  if (req.method === 'PUT') {
    const digest = new URL(req.url ?? '', url).searchParams.get('digest')!
    if (body.length > 0 && sha256Digest(body) !== digest) return void res.writeHead(400).end()
    held.add(digest)
    return void res.writeHead(201, { 'docker-content-digest': digest }).end()
  }
  if (req.method === 'HEAD' && path.startsWith('/v2/r/blobs/')) return void res.writeHead(held.has(path.slice(12)) ? 200 : 404).end()
  if (req.method === 'GET' && path === '/v2/r/manifests/v1' && tagged)
    return void res.writeHead(200, { 'content-type': MediaType.ociManifest }).end(tagged)
  res.writeHead(req.method === 'DELETE' ? 204 : 404).end()
}

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks)
      seen.push({ method: req.method ?? '', path: req.url ?? '', bytes: body.length })
      answer(req, res, body)
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(() => {
  server.close()
})
beforeEach(() => {
  seen.length = 0
  held.clear()
  refusePatch = false
  tagged = undefined
})

function blobs(events: RunEvent[]): RegistryBlobs {
  const client = new RegistryClient({
    baseUrl: url,
    registry: new URL(url).host,
    repository: 'r',
    auth: createRegistryAuth({ env: { HOME: '/nonexistent', REGISTRY_AUTH_FILE: '/nonexistent/auth.json' }, fetch, secret: () => {} }),
    fetch,
    push: true,
  })
  const strategy = { mode: 'streamed' as const, chunkBytes: 0, reason: 'test' }
  return new RegistryBlobs(client, new URL(url).host, strategy, { emit: (e) => events.push(e), logger: silentLogger }, 'registry:test')
}

const bytes = Buffer.alloc(256 * 1024, 3)
const layer = { digest: sha256Digest(bytes), size: bytes.byteLength }
const hint = { mediaType: MediaType.ociLayer, verify: false, annotations: { 'org.opencontainers.image.title': 'w.bin' } }

describe('registry blobs', () => {
  it('a registry that refuses PATCH: the pass is taken unsent, commit asks again, and the blob goes up as one PUT', async () => {
    refusePatch = true
    const events: RunEvent[] = []
    const b = blobs(events)
    const first = await b.open({ ...hint, attempt: 1 })
    for (let at = 0; at < bytes.length; at += 16 * 1024) await first.write(bytes.subarray(at, at + 16 * 1024))
    expect(await first.commit(layer)).toEqual({ streamAgain: expect.stringMatching(/refused PATCH/) })
    expect(b.upload.mode).toBe('monolithic')
    expect(events.filter((e) => e.type === 'warning')).toHaveLength(1)
    expect(held.has(layer.digest)).toBe(false)

    const second = await b.open({ ...hint, attempt: 2, ...layer })
    await second.write(bytes)
    expect(await second.commit(layer)).toBeUndefined()
    expect(seen.filter((s) => s.method === 'PUT').map((s) => s.bytes)).toEqual([bytes.byteLength])
    expect(seen.filter((s) => s.method === 'PATCH').length).toBeGreaterThan(0)
    const heads = seen.filter((s) => s.method === 'HEAD').length
    expect(await b.holds(layer)).toBe(true) // remembered: no HEAD
    expect(seen.filter((s) => s.method === 'HEAD').length).toBe(heads)
  })

  it('gives the engine the layers of the tagged image, with their annotations (none when the tag is missing)', async () => {
    tagged = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.ociManifest,
        config: { mediaType: MediaType.ociConfig, digest: sha256Digest('{}'), size: 2 },
        layers: [{ mediaType: MediaType.ociLayer, ...layer, annotations: hint.annotations }],
      }),
    )
    const b = blobs([])
    await b.readHeld('v1')
    expect(b.heldLayers()).toEqual([{ mediaType: MediaType.ociLayer, ...layer, annotations: hint.annotations }])
    await b.readHeld('missing')
    expect(b.heldLayers()).toEqual([])
  })

  it('a blob known to be there takes no bytes: nothing is uploaded, and the commit asks the registry nothing more', async () => {
    const b = blobs([])
    held.add(layer.digest)
    expect(await b.holds(layer)).toBe(true)
    seen.length = 0
    const probe = await b.open({ ...hint, attempt: 1, ...layer })
    await probe.write(bytes)
    expect(await probe.commit(layer)).toBeUndefined()
    expect(seen).toEqual([])
  })
})
