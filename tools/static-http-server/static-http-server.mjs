// A plain HTTP file server for tests of HTTP sources: GET and HEAD with single Range requests
// (206 / 416, as RFC 9110 says), an optional required header (a token), and faults on demand: a
// connection cut after N bytes, Range ignored, no Content-Length on HEAD. Every request is logged.
import { createServer } from 'node:http'

/** @param {import('./static-http-server.d.mts').StaticServerOptions} opts */
export async function startStaticServer(opts) {
  const files = new Map(Object.entries(opts.files).map(([p, b]) => [p.startsWith('/') ? p : `/${p}`, Buffer.from(b)]))
  const faults = { cutAfter: new Map(), ...(opts.faults ?? {}) }
  /** @type {import('./static-http-server.d.mts').LoggedRequest[]} */
  const requests = []
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x')
    requests.push({ method: req.method ?? '', path: url.pathname, range: req.headers.range, headers: { ...req.headers } })
    if (opts.requireHeader) {
      const [name, value] = opts.requireHeader
      if (req.headers[name.toLowerCase()] !== value) {
        res.writeHead(401, { 'content-type': 'text/plain' }).end('unauthorized\n')
        return
      }
    }
    const body = files.get(decodeURIComponent(url.pathname))
    if (!body) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n')
      return
    }
    if (req.method === 'HEAD') {
      res
        .writeHead(
          200,
          faults.noLengthOnHead
            ? { 'accept-ranges': 'bytes', 'transfer-encoding': 'chunked' }
            : { 'content-length': body.length, 'accept-ranges': 'bytes' },
        )
        .end()
      return
    }
    if (req.method !== 'GET') {
      res.writeHead(405).end()
      return
    }
    let start = 0
    let end = body.length - 1
    let status = 200
    const m = /^bytes=(\d*)-(\d*)$/.exec(req.headers.range ?? '')
    if (m && !faults.ignoreRange) {
      if (m[1] === '') {
        start = Math.max(0, body.length - Number(m[2]))
      } else {
        start = Number(m[1])
        if (m[2] !== '') end = Math.min(end, Number(m[2]))
      }
      if (start >= body.length || start > end) {
        res.writeHead(416, { 'content-range': `bytes */${body.length}` }).end()
        return
      }
      status = 206
    }
    const slice = body.subarray(start, end + 1)
    res.writeHead(status, {
      'content-length': slice.length,
      'accept-ranges': 'bytes',
      'content-type': 'application/octet-stream',
      ...(status === 206 ? { 'content-range': `bytes ${start}-${end}/${body.length}` } : {}),
    })
    const cut = faults.cutAfter.get(url.pathname)
    if (cut && cut.times > 0 && slice.length > cut.bytes) {
      cut.times--
      // Half the body, then a reset: what a dropped connection looks like to the client.
      res.write(slice.subarray(0, cut.bytes), () => setTimeout(() => res.destroy(), 20))
      return
    }
    res.end(slice)
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(undefined)))
  const { port } = /** @type {import('node:net').AddressInfo} */ (server.address())
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    faults,
    files,
    stop: () =>
      new Promise((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve(undefined))
      }),
  }
}
