// The fault proxy in front of a plain HTTP server: bodies cut at the byte asked, canned answers,
// rule counters per request and per path, and a request log.
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { s3ErrorXml, startFaultProxy, type FaultProxy } from './fault-proxy.mjs'

const body = Buffer.alloc(256 * 1024, 1).map((_, i) => i % 251)
let target: http.Server
let proxy: FaultProxy

beforeAll(async () => {
  target = http.createServer((req, res) => {
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '')
    const start = m ? Number(m[1]) : 0
    res.writeHead(m ? 206 : 200, { 'content-length': String(body.length - start), 'x-path': req.url ?? '' })
    res.end(body.subarray(start))
  })
  await new Promise<void>((r) => target.listen(0, '127.0.0.1', r))
  proxy = await startFaultProxy({ target: `http://127.0.0.1:${(target.address() as AddressInfo).port}` })
})
afterAll(async () => {
  await proxy?.stop()
  await new Promise((r) => target.close(r))
})

/** GETs through the proxy; resolves what arrived before the body ended or broke. */
function get(
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; bytes: Buffer; broke: boolean; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.get(`${proxy.url}${path}`, { headers, agent: false }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode!, bytes: Buffer.concat(chunks), broke: false, headers: res.headers }))
      res.on('error', () => resolve({ status: res.statusCode!, bytes: Buffer.concat(chunks), broke: true, headers: res.headers }))
    })
    req.on('error', reject)
  })
}

describe('fault proxy', () => {
  it('forwards untouched when no rule matches, and logs the request', async () => {
    proxy.setRules([{ path: '/other', respond: { status: 500 } }])
    proxy.requests.length = 0
    const r = await get('/a?x=1', { range: 'bytes=10-', 'if-match': '"e"', authorization: 'Bearer secret-value' })
    expect(r.status).toBe(206)
    expect(r.bytes.equals(body.subarray(10))).toBe(true)
    expect(r.headers['x-path']).toBe('/a?x=1')
    expect(proxy.requests).toEqual([
      {
        method: 'GET',
        path: '/a?x=1',
        range: 'bytes=10-',
        ifMatch: '"e"',
        authorization: true,
        status: 206,
        bytes: body.length - 10,
        cut: false,
        rule: undefined,
      },
    ])
    expect(JSON.stringify(proxy.requests)).not.toContain('secret-value')
  })

  it('cuts a body after exactly N bytes and breaks the connection, as often as asked', async () => {
    proxy.setRules([{ method: 'GET', path: /^\/cut\//, cut: { afterBytes: 1000 }, times: 2 }])
    const first = await get('/cut/a')
    expect(first).toMatchObject({ status: 200, broke: true })
    expect(first.bytes.equals(body.subarray(0, 1000))).toBe(true)
    expect((await get('/cut/b')).bytes.length).toBe(1000)
    const third = await get('/cut/c')
    expect(third.broke).toBe(false)
    expect(third.bytes.length).toBe(body.length)
  })

  it('cuts at a fraction, once per path; a body not longer than the cut point is not cut and uses nothing', async () => {
    proxy.setRules([{ path: /^\/f\//, cut: { afterFraction: 0.5 }, timesPerPath: 1 }])
    proxy.requests.length = 0
    expect((await get('/f/a')).bytes.length).toBe(body.length / 2)
    expect((await get('/f/a')).broke).toBe(false)
    expect((await get('/f/b')).bytes.length).toBe(body.length / 2)
    proxy.setRules([{ path: /^\/g\//, cut: { afterBytes: body.length } }])
    expect((await get('/g/a')).broke).toBe(false)
    expect(proxy.requests.filter((r) => r.cut).map((r) => r.path)).toEqual(['/f/a', '/f/b'])
  })

  it('answers canned statuses and error bodies instead of the target', async () => {
    proxy.setRules([
      { path: '/busy', respond: { status: 503, retryAfter: 2 }, times: 1 },
      {
        header: { authorization: false },
        path: '/denied',
        respond: {
          status: 403,
          headers: { 'content-type': 'application/xml' },
          body: s3ErrorXml('AccessDenied', 'Access Denied', { BucketName: 'b' }),
        },
      },
    ])
    const busy = await get('/busy')
    expect([busy.status, busy.headers['retry-after']]).toEqual([503, '2'])
    expect((await get('/busy')).status).toBe(200)
    const denied = await get('/denied')
    expect(denied.status).toBe(403)
    expect(denied.bytes.toString()).toContain('<Code>AccessDenied</Code><Message>Access Denied</Message><BucketName>b</BucketName>')
    expect((await get('/denied', { authorization: 'x' })).status).toBe(200)
  })
})
