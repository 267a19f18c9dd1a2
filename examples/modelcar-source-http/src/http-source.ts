// Source `http`: files from plain HTTP(S) URLs, listed in the recipe or in a JSON listing file.
// Written against the public @modelcar/core API only, as any third-party source would be: all
// I/O through ctx.fetch (redirects by core's fetchFollowing, which keeps credentials on their
// origin), headers registered as secrets, sizes known before a byte moves (HEAD when the recipe
// does not say), one attempt per open() with a Range from any byte — the engine retries and
// resumes, by the project's one policy. Failures are core's typed HTTP errors (httpRefusal).
import {
  defineSource,
  fetchFollowing,
  httpRefusal,
  httpUnreachable,
  isModelcarError,
  isTransientNetworkError,
  mapBounded,
  ModelcarError,
  redactUrl,
  safeModelPath,
  skipBytes,
  Type,
  withDefault,
  type ComponentContext,
  type ModelFile,
  type Static,
} from '@modelcar/core'

const FileSchema = Type.Object(
  {
    url: Type.String({
      description: 'Where the file is: an `http://` or `https://` URL.',
      pattern: '^https?://',
      examples: ['https://models.example.com/tiny/model.safetensors'],
    }),
    path: Type.Optional(
      Type.String({
        description: 'Its path in the model (under the image prefix). Default: the last segment of the URL.',
        examples: ['model.safetensors', 'tokenizer/vocab.json'],
      }),
    ),
    size: Type.Optional(
      Type.Integer({
        description: 'Its size in bytes. Default: asked with a HEAD request (Content-Length).',
        minimum: 0,
        examples: [1048576],
      }),
    ),
    sha256: Type.Optional(
      Type.String({
        description: 'Its sha256, 64 hex digits: checked while streaming, and the run fails on a mismatch.',
        pattern: '^[0-9a-f]{64}$',
        examples: ['e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
      }),
    ),
  },
  { additionalProperties: false },
)

export const httpSourceSchema = Type.Object(
  {
    files: Type.Optional(
      Type.Array(FileSchema, {
        description: 'The files, in order. Give `files`, `listing`, or both.',
        minItems: 1,
        examples: [[{ url: 'https://models.example.com/tiny/config.json' }]],
      }),
    ),
    listing: Type.Optional(
      Type.String({
        description:
          'URL of a JSON listing: `{"files": [{"path": "…", "url"?: "…", "size"?: n, "sha256"?: "…"}]}`; a `url` (default: the `path`) is relative to the listing.',
        pattern: '^https?://',
        examples: ['https://models.example.com/tiny/listing.json'],
      }),
    ),
    headers: withDefault(
      Type.Record(Type.String(), Type.String(), {
        description: 'HTTP headers sent with every request, e.g. a token. Every value is treated as a secret.',
        examples: [{ Authorization: 'Bearer ${MODEL_STORE_TOKEN}' }],
        secret: true,
      }),
      {},
    ),
    into: Type.Optional(Type.String({ description: 'Sub-folder under the image prefix to put the files in.', examples: ['tiny'] })),
  },
  { additionalProperties: false },
)

export type HttpSourceConfig = Static<typeof httpSourceSchema>

interface Entry {
  url: URL
  path: string
  size?: number
  sha256?: string
}

const LISTING_MAX_BYTES = 16 << 20

export const httpSource = defineSource({
  type: 'http',
  description:
    'Files from plain HTTP(S) URLs (listed in the recipe or in a JSON listing), resumed with Range requests, sha256-checked when given.',
  schema: httpSourceSchema,
  create(config, ctx) {
    if (!config.files && !config.listing) {
      throw new ModelcarError('COMPONENT_INVALID', 'give `files` (a list of URLs) or `listing` (the URL of a JSON listing)', {
        hint: 'e.g. `files: [{ url: https://host/model.safetensors }]`',
        input: true,
      })
    }
    for (const value of Object.values(config.headers)) ctx.secret(value)
    const http = new HttpClient(ctx, config.headers)
    return {
      async *list() {
        const entries: Entry[] = (config.files ?? []).map((f) => ({
          url: new URL(f.url),
          path: f.path ?? lastSegment(new URL(f.url)),
          size: f.size,
          sha256: f.sha256,
        }))
        if (config.listing) entries.push(...(await readListing(http, new URL(config.listing))))
        const files = await mapBounded(entries, ctx.concurrency, async (e) => {
          const rel = safeModelPath(e.path, 'file of the listing')
          const size = e.size ?? (await http.size(e.url))
          return fileOf(http, e, config.into ? `${safeModelPath(config.into, 'target folder')}/${rel}` : rel, size)
        })
        yield* files
      },
    }
  },
})

function fileOf(http: HttpClient, e: Entry, path: string, size: number): ModelFile {
  return {
    path,
    size,
    ...(e.sha256 ? { digest: `sha256:${e.sha256}` } : {}),
    origin: redactUrl(e.url),
    async open(opts = {}) {
      const start = opts.start ?? 0
      // `bytes=SIZE-` is unsatisfiable (416): at the end there is nothing left to read.
      if (start >= size) return (async function* () {})()
      return http.read(e.url, start, opts.signal)
    },
  }
}

async function readListing(http: HttpClient, url: URL): Promise<Entry[]> {
  const text = await http.text(url, LISTING_MAX_BYTES)
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch (err) {
    throw new ModelcarError('COMPONENT_INVALID', `the listing ${redactUrl(url)} is not JSON: ${(err as Error).message}`, {
      hint: 'it must be `{"files": [{"path": "…"}]}`',
      input: true,
    })
  }
  const list = Array.isArray(doc) ? doc : (doc as { files?: unknown } | null)?.files
  if (!Array.isArray(list))
    throw new ModelcarError('COMPONENT_INVALID', `the listing ${redactUrl(url)} has no \`files\` list`, {
      hint: 'it must be `{"files": [{"path": "…"}]}`',
      input: true,
    })
  return list.map((raw, i) => {
    const f = raw as { path?: unknown; url?: unknown; size?: unknown; sha256?: unknown }
    const bad = (what: string) =>
      new ModelcarError('COMPONENT_INVALID', `the listing ${redactUrl(url)}: files[${i}] ${what}`, {
        hint: 'each entry is `{"path": "a/b.bin", "url"?: "…", "size"?: 123, "sha256"?: "<64 hex>"}`',
        input: true,
      })
    if (typeof f.path !== 'string' && typeof f.url !== 'string') throw bad('has neither `path` nor `url`')
    if (f.size !== undefined && !(Number.isSafeInteger(f.size) && (f.size as number) >= 0))
      throw bad(`has size \`${String(f.size)}\`, not a whole number of bytes`)
    if (f.sha256 !== undefined && !(typeof f.sha256 === 'string' && /^[0-9a-f]{64}$/.test(f.sha256)))
      throw bad('has a `sha256` that is not 64 hex digits')
    const fileUrl = new URL(typeof f.url === 'string' ? f.url : (f.path as string).split('/').map(encodeURIComponent).join('/'), url)
    if (fileUrl.protocol !== 'http:' && fileUrl.protocol !== 'https:') throw bad(`has URL \`${redactUrl(fileUrl)}\`, not http(s)`)
    return {
      url: fileUrl,
      path: typeof f.path === 'string' ? f.path : lastSegment(fileUrl),
      size: f.size as number | undefined,
      sha256: f.sha256 as string | undefined,
    }
  })
}

/** Requests through ctx.fetch with the recipe's headers; failures as ModelcarErrors naming method, URL and status. */
class HttpClient {
  constructor(
    private readonly ctx: ComponentContext,
    private readonly headers: Record<string, string>,
  ) {}

  async size(url: URL): Promise<number> {
    const res = await this.request('HEAD', url)
    const length = res.headers.get('content-length')
    if (length !== null && /^\d+$/.test(length)) return Number(length)
    // Some servers answer HEAD without a length; one byte of a Range GET says the total.
    const probe = await this.request('GET', url, { range: 'bytes=0-0' })
    await probe.body?.cancel()
    const total = /\/(\d+)$/.exec(probe.headers.get('content-range') ?? '')?.[1]
    if (probe.status === 206 && total) return Number(total)
    throw new ModelcarError('COMPONENT_FAILED', `[HEAD] ${redactUrl(url)}: the server does not say the file's size (no Content-Length)`, {
      hint: 'give `size:` for this file in the recipe',
      input: true,
    })
  }

  async text(url: URL, max: number): Promise<string> {
    const res = await this.request('GET', url)
    const length = Number(res.headers.get('content-length') ?? 0)
    if (length > max)
      throw new ModelcarError('COMPONENT_INVALID', `the listing ${redactUrl(url)} is ${length} bytes; more than ${max} is not a listing`, {
        input: true,
      })
    return res.text()
  }

  async read(url: URL, start: number, signal?: AbortSignal): Promise<AsyncIterable<Uint8Array>> {
    const res = await this.request('GET', url, start > 0 ? { range: `bytes=${start}-` } : {}, signal)
    let skip = 0
    if (start > 0 && res.status === 206) {
      const from = /^bytes (\d+)-/.exec(res.headers.get('content-range') ?? '')?.[1]
      if (Number(from) !== start) {
        await res.body?.cancel()
        throw new ModelcarError(
          'COMPONENT_FAILED',
          `[GET] ${redactUrl(url)}: asked for bytes from ${start}, got \`${res.headers.get('content-range') ?? 'no Content-Range'}\``,
        )
      }
    } else if (start > 0) {
      // A server without Range support sends the whole file: drop what was already read.
      this.ctx.logger.debug(`${redactUrl(url)} ignores Range requests; skipping ${start} bytes to resume`)
      skip = start
    }
    return body(res, url, skip)
  }

  async request(method: 'GET' | 'HEAD', url: URL, extra: Record<string, string> = {}, signal?: AbortSignal): Promise<Response> {
    let followed
    try {
      const init = { method, headers: { ...this.headers, ...extra }, signal: signal ?? this.ctx.signal }
      followed = await fetchFollowing(this.ctx.fetch, url, init)
    } catch (err) {
      throw httpUnreachable(err, method, url.href)
    }
    // A refusal names the URL that answered (after redirects), without its query.
    const { response: res, url: answered } = followed
    if (res.ok) return res
    const said = (await res.text().catch(() => '')).trim().slice(0, 200)
    throw httpRefusal(res, method, answered.href, {
      detail: said || undefined,
      hint:
        res.status === 401 || res.status === 403
          ? 'the server wants credentials: set `headers:` (e.g. `Authorization: Bearer ${TOKEN}`)'
          : res.status === 404
            ? 'check the URL'
            : undefined,
    })
  }
}

async function* body(res: Response, url: URL, skip: number): AsyncGenerator<Uint8Array> {
  if (!res.body) return
  try {
    yield* skipBytes(res.body as unknown as AsyncIterable<Uint8Array>, skip)
  } catch (err) {
    if (isModelcarError(err)) throw err
    // A cut connection: retryable, and the engine opens the file again at the byte it reached.
    throw new ModelcarError('COMPONENT_FAILED', `[GET] ${redactUrl(url)}: the download broke off (${(err as Error).message})`, {
      cause: err,
      retryable: isTransientNetworkError(err),
    })
  }
}

function lastSegment(url: URL): string {
  const seg = url.pathname.split('/').filter(Boolean).at(-1)
  if (!seg) throw new ModelcarError('COMPONENT_INVALID', `URL ${redactUrl(url)} ends in \`/\`: give the file a \`path\``, { input: true })
  return decodeURIComponent(seg)
}
