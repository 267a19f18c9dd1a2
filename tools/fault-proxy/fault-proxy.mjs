// A fault-injecting HTTP proxy for resume and error tests: it forwards every request to one
// target origin and, for requests that match a rule, cuts the response body after some bytes
// (then destroys the socket, as a broken connection does) or answers a canned response instead
// of the target (a 429/503 with Retry-After, an S3 or registry error body). It logs every
// request. Plain JavaScript, so .mjs scripts (benchmarks) can use it too.
import http from 'node:http'

/** @typedef {import('./fault-proxy.d.mts').FaultRule} FaultRule */

export async function startFaultProxy(opts) {
  const target = new URL(opts.target)
  if (target.protocol !== 'http:') throw new Error(`fault-proxy: only http targets are supported, not \`${opts.target}\``)
  /** @type {import('./fault-proxy.d.mts').ProxyRequestLog[]} */
  const requests = []
  let rules = []
  const setRules = (next) => {
    rules = (next ?? []).map((rule) => ({ rule, used: 0, usedByPath: new Map() }))
  }
  setRules(opts.rules)

  const matches = (rule, req, url) => {
    if (rule.method && rule.method.toUpperCase() !== req.method) return false
    if (rule.path !== undefined) {
      const full = url.pathname + url.search
      if (typeof rule.path === 'string' ? url.pathname !== rule.path : !rule.path.test(full)) return false
    }
    if (rule.header) {
      for (const [name, want] of Object.entries(rule.header)) {
        const got = req.headers[name.toLowerCase()]
        const value = Array.isArray(got) ? got.join(',') : got
        if (
          want === true
            ? value === undefined
            : want === false
              ? value !== undefined
              : typeof want === 'string'
                ? value !== want
                : !want.test(value ?? '')
        )
          return false
      }
    }
    return true
  }

  /** The first rule that matches and has uses left; a cut rule is only claimed once the body is known to be long enough. */
  const pick = (req, url) => {
    for (const entry of rules) {
      const { rule } = entry
      if (!matches(rule, req, url)) continue
      if (rule.times !== undefined && entry.used >= rule.times) continue
      if (rule.timesPerPath !== undefined && (entry.usedByPath.get(url.pathname) ?? 0) >= rule.timesPerPath) continue
      return entry
    }
    return undefined
  }
  const claim = (entry, url) => {
    entry.used++
    entry.usedByPath.set(url.pathname, (entry.usedByPath.get(url.pathname) ?? 0) + 1)
  }

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://proxy.invalid')
    const log = {
      method: req.method ?? 'GET',
      path: url.pathname + url.search,
      range: req.headers.range,
      ifMatch: req.headers['if-match'],
      authorization: req.headers.authorization !== undefined,
      status: 0,
      bytes: 0,
      cut: false,
      rule: undefined,
    }
    requests.push(log)
    const entry = pick(req, url)
    if (entry?.rule.respond) {
      claim(entry, url)
      log.rule = rules.indexOf(entry)
      const r = entry.rule.respond
      const body = Buffer.from(typeof r.body === 'function' ? r.body(url, req.headers) : (r.body ?? ''))
      const headers = { 'content-length': String(body.length), ...(r.headers ?? {}) }
      if (r.retryAfter !== undefined) headers['retry-after'] = String(r.retryAfter)
      log.status = r.status
      req.resume()
      res.writeHead(r.status, headers)
      res.end(req.method === 'HEAD' ? undefined : body)
      return
    }
    const upstream = http.request(
      { host: target.hostname, port: target.port || 80, method: req.method, path: req.url, headers: req.headers },
      (up) => {
        log.status = up.statusCode ?? 0
        const length = Number(up.headers['content-length'] ?? NaN)
        let cutAt
        if (entry?.rule.cut && req.method !== 'HEAD') {
          const c = entry.rule.cut
          const at = c.afterBytes ?? Math.floor(length * (c.afterFraction ?? 0))
          // Only a body longer than the cut point is cut (and uses the rule up).
          if (Number.isFinite(at) && (Number.isNaN(length) || length > at)) {
            cutAt = at
            claim(entry, url)
            log.rule = rules.indexOf(entry)
          }
        }
        res.writeHead(up.statusCode ?? 502, up.headers)
        if (cutAt === undefined) {
          up.on('data', (chunk) => (log.bytes += chunk.length))
          up.pipe(res)
          return
        }
        let sent = 0
        up.on('data', (chunk) => {
          if (log.cut) return
          const room = cutAt - sent
          const piece = chunk.length > room ? chunk.subarray(0, room) : chunk
          sent += piece.length
          log.bytes += piece.length
          if (sent >= cutAt) {
            log.cut = true
            up.destroy()
            // The bytes before the cut reach the client first (the callback runs once they are
            // flushed to the socket); then the connection breaks mid-body.
            res.write(piece, () => res.socket?.destroy())
            return
          }
          if (!res.write(piece)) {
            up.pause()
            res.once('drain', () => up.resume())
          }
        })
        up.on('end', () => res.end())
      },
    )
    upstream.on('error', (err) => {
      log.status = 502
      if (!res.headersSent) {
        res.writeHead(502, { 'content-type': 'text/plain' })
        res.end(`fault-proxy: ${err.message}`)
      } else res.destroy()
    })
    req.pipe(upstream)
  })
  const sockets = new Set()
  server.on('connection', (s) => {
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
  })
  await new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', resolve)
  })
  const { address, port } = server.address()
  return {
    url: `http://${address}:${port}`,
    requests,
    setRules,
    async stop() {
      for (const s of sockets) s.destroy()
      await new Promise((resolve) => server.close(() => resolve()))
    },
  }
}

/** An S3 error response body, as S3 and S3-compatible stores send it. */
export function s3ErrorXml(code, message, extra = {}) {
  const esc = (s) => String(s).replace(/[<>&]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;' })[c])
  const fields = Object.entries(extra)
    .map(([k, v]) => `<${k}>${esc(v)}</${k}>`)
    .join('')
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${esc(code)}</Code><Message>${esc(message)}</Message>${fields}<RequestId>FAULTPROXY0001</RequestId><HostId>fault-proxy</HostId></Error>`
}
