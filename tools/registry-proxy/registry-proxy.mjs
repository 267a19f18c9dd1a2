// A registry proxy that imitates the quirks of real registries in front of a real one (Debian's
// docker-registry): GHCR's 4 MiB cap on ranged PATCH chunks, registries that refuse PATCH
// altogether, 429/503 with Retry-After, and connections cut in the middle of an upload (after the
// registry took part of it, before it saw any of it, or before its answer came back). Every
// request is logged (method, path, status, body bytes, Content-Range), never a header value.
// Plain JavaScript so that .mjs scripts (the benchmark) can import it; types in registry-proxy.d.mts.
import http from 'node:http'

/** @param {import('./registry-proxy.d.mts').RegistryProxyOptions} opts */
export async function startRegistryProxy(opts) {
  const upstream = new URL(opts.upstream)
  let quirks = normalize(opts.quirks)
  /** @type {import('./registry-proxy.d.mts').ProxyRequest[]} */
  const requests = []
  const sockets = new Set()

  const server = http.createServer((req, res) => {
    const entry = {
      method: req.method ?? '',
      path: req.url ?? '',
      status: 0,
      bytes: 0,
      contentRange: header(req, 'content-range'),
      cut: false,
      quirk: undefined,
    }
    requests.push(entry)
    const answer = (status, body, headers = {}) => {
      entry.status = status
      // Read the body first: a client still sending would see a reset, not the answer.
      req.on('data', (c) => (entry.bytes += c.length))
      req.on('end', () => {
        res.writeHead(status, { 'content-type': 'application/json', 'docker-distribution-api-version': 'registry/2.0', ...headers })
        res.end(body === undefined ? '' : JSON.stringify(body))
      })
      req.resume()
    }

    const fault = quirks.status.find(
      (f) => f.left > 0 && (!f.method || f.method === req.method) && (!f.path || new RegExp(f.path).test(req.url ?? '')),
    )
    if (fault) {
      fault.left--
      entry.quirk = `status ${fault.status}`
      const code = fault.code ?? (fault.status === 429 ? 'TOOMANYREQUESTS' : fault.status === 403 ? 'DENIED' : 'UNAVAILABLE')
      const message =
        fault.message ??
        (fault.status === 429
          ? 'too many requests'
          : fault.status === 403
            ? 'requested access to the resource is denied'
            : 'service unavailable')
      return answer(
        fault.status,
        { errors: [{ code, message }] },
        fault.retryAfter === undefined ? {} : { 'retry-after': String(fault.retryAfter) },
      )
    }
    if (req.method === 'PATCH' && quirks.refusePatch) {
      entry.quirk = 'refuse PATCH'
      return answer(405, { errors: [{ code: 'UNSUPPORTED', message: 'chunked uploads are not supported; use a monolithic PUT' }] })
    }
    if (req.method === 'PATCH' && quirks.maxChunkBytes !== undefined && entry.contentRange) {
      const m = /^(\d+)-(\d+)$/.exec(entry.contentRange)
      const length = m ? Number(m[2]) - Number(m[1]) + 1 : Number(header(req, 'content-length') ?? 0)
      if (length > quirks.maxChunkBytes) {
        entry.quirk = 'chunk too large'
        const mib = (quirks.maxChunkBytes / 1048576).toFixed(2)
        return answer(416, {
          errors: [
            {
              code: 'REQUESTED_RANGE_NOT_SATISFIABLE',
              message: `the request body is too large and exceeds the maximum permissible limit of ${mib}MiB`,
            },
          ],
        })
      }
    }
    const mayCut = (req.method === 'PATCH' || req.method === 'PUT') && /\/blobs\/uploads\//.test(req.url ?? '')
    const buffered = mayCut ? quirks.cutBeforeRegistry[0] : undefined
    if (buffered !== undefined && Number(header(req, 'content-length') ?? 0) > buffered) {
      // A front that buffers request bodies (nginx does by default) loses its client mid-body:
      // the registry never hears of the request.
      quirks.cutBeforeRegistry.shift()
      entry.quirk = `cut after ${buffered} bytes, before the registry`
      req.on('data', (chunk) => {
        if (entry.cut) return
        entry.bytes = Math.min(buffered, entry.bytes + chunk.length)
        if (entry.bytes < buffered) return
        entry.cut = true
        req.socket.destroy()
      })
      return
    }

    const up = http.request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
      (upRes) => {
        entry.status = upRes.statusCode ?? 0
        if (req.method === 'PATCH' && upRes.statusCode === 202 && quirks.cutAnswers > 0) {
          // The registry took the whole PATCH; the connection breaks before its answer gets back.
          quirks.cutAnswers--
          entry.cut = true
          entry.quirk = 'answer cut'
          upRes.resume()
          req.socket.destroy()
          return
        }
        res.writeHead(upRes.statusCode ?? 502, upRes.headers)
        upRes.pipe(res)
      },
    )
    up.on('error', () => {
      if (!entry.cut) res.destroy()
    })
    let sent = 0
    req.on('data', (chunk) => {
      if (entry.cut) return
      // A cut is used up by the first upload body that grows past it (small blobs pass).
      const cutAt = mayCut ? quirks.cutAfterBytes[0] : undefined
      if (cutAt !== undefined && sent + chunk.length > cutAt) {
        quirks.cutAfterBytes.shift()
        const part = chunk.subarray(0, cutAt - sent)
        sent += part.length
        entry.bytes = sent
        entry.cut = true
        entry.quirk = `cut after ${cutAt} bytes`
        up.write(part)
        // Both ends die mid-upload: the client sees a reset, the registry an unfinished body.
        req.socket.destroy()
        up.destroy()
        return
      }
      sent += chunk.length
      entry.bytes = sent
      if (!up.write(chunk)) {
        req.pause()
        up.once('drain', () => req.resume())
      }
    })
    req.on('end', () => {
      if (!entry.cut) up.end()
    })
  })
  server.on('connection', (s) => {
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
  })
  await new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve(undefined))
  })
  const address = /** @type {import('node:net').AddressInfo} */ (server.address())
  const host = `${address.address}:${address.port}`
  return {
    host,
    url: `http://${host}`,
    requests,
    setQuirks(q) {
      quirks = normalize(q)
    },
    async stop() {
      for (const s of sockets) s.destroy()
      await new Promise((resolve) => server.close(() => resolve(undefined)))
    },
  }
}

/** @param {import('./registry-proxy.d.mts').Quirks | undefined} q */
function normalize(q = {}) {
  return {
    maxChunkBytes: q.maxChunkBytes,
    refusePatch: !!q.refusePatch,
    status: (q.status ?? []).map((f) => ({ ...f, left: f.times ?? 1 })),
    cutAfterBytes: [...(q.cutAfterBytes ?? [])],
    cutBeforeRegistry: [...(q.cutBeforeRegistry ?? [])],
    cutAnswers: q.cutAnswers ?? 0,
  }
}

function header(req, name) {
  const v = req.headers[name]
  return Array.isArray(v) ? v[0] : v
}
