// Registry failures as ModelcarErrors on core's HTTP layer: `[METHOD] url: status: the registry's
// own codes and messages`, with typed `http` facts (status, the registry's `errors[].code` as
// serverCodes, request id), `retryAfterMs` from Retry-After, and a hint for the usual causes. The
// URL never carries its query (upload state tokens, signed CDN links); never a header or a credential.
import { httpRefusal, httpUnreachable, isModelcarError, ModelcarError, optionsOf, type ModelcarErrorOptions } from '@modelcar/core'
import { describeDistributionErrors, parseDistributionErrors } from '../distribution/error-body.js'

type RegistryErrorOptions = Pick<ModelcarErrorOptions, 'hint' | 'retryable' | 'cause' | 'retryAfterMs' | 'http'>

export const registryErrors = {
  /** A registry refused what we asked, in words of our own (no Location, a tag that is not there). */
  registryRefused(message: string, opts: RegistryErrorOptions = {}): ModelcarError {
    return new ModelcarError('REGISTRY_REFUSED', message, opts)
  },
  /** A registry answered with an error status: method, URL, status and the registry's own codes, as text and as facts. */
  async refusal(res: Response, c: RefusalContext): Promise<ModelcarError> {
    const text = await res.text().catch(() => '')
    const errs = parseDistributionErrors(text)
    const serverCodes = [...new Set(errs.map((e) => e.code).filter((code): code is string => !!code))]
    const detail = errs.length ? describeDistributionErrors(errs) : (text.trim().split('\n')[0]?.slice(0, 200) ?? '')
    return httpRefusal(res, c.method, c.url, {
      code: 'REGISTRY_REFUSED',
      detail,
      serverCodes,
      hint: refusalHint(res.status, serverCodes, c),
    })
  },
  /**
   * A chunked upload that the registry took no more bytes of, resume after resume: its last
   * failure (code, HTTP facts and hint kept: for a 416/413, a smaller `chunkSize`), now final.
   */
  resumesSpent(err: unknown, resumes: number): ModelcarError {
    const message = `${err instanceof Error ? err.message : String(err)} (the upload was resumed ${resumes} times and the registry took no more bytes)`
    const opts = isModelcarError(err) ? optionsOf(err) : {}
    return new ModelcarError(isModelcarError(err) ? err.code : 'REGISTRY_REFUSED', message, { ...opts, retryable: false, cause: err })
  },
  /** No HTTP answer at all: unknown host, refused or cut connection, TLS. */
  unreachable(err: unknown, method: string, url: string): ModelcarError {
    return httpUnreachable(err, method, url, { code: 'REGISTRY_UNREACHABLE', hint: unreachableHint(err, url) })
  },
}

export interface RefusalContext {
  method: string
  url: string
  /** `host/repo`, for hints. */
  repository: string
  /** Where the credentials came from (a path, a helper), for a 401's hint. */
  credentials?: string | undefined
}

function refusalHint(status: number, codes: string[], c: RefusalContext): string | undefined {
  const host = hostOf(c.url)
  if (status === 401)
    return c.credentials
      ? `the registry rejected the credentials for \`${host}\` from ${c.credentials}; log in again (\`podman login\`, \`docker login\`)`
      : `no credentials for \`${host}\` were found; log in with \`podman login ${host}\` or set REGISTRY_AUTH_FILE`
  if (status === 403 || codes.includes('DENIED'))
    return `the account may not ${c.method === 'GET' || c.method === 'HEAD' ? 'read' : 'push to'} \`${c.repository}\`; check the repository name and its permissions`
  if (codes.includes('NAME_UNKNOWN')) return `\`${c.repository}\` does not exist on the registry (or is not visible to this account)`
  if (codes.includes('MANIFEST_INVALID') || codes.includes('MANIFEST_BLOB_UNKNOWN') || status === 415)
    return 'the registry refused the image manifest; it may not accept this media type or artifact type, or a blob it names is missing'
  if (status === 416 || status === 413)
    return 'the registry refused the upload size; set a smaller `chunkSize` or `upload: streamed` on the sink'
  if (status === 405 && c.method === 'PATCH') return 'the registry refuses chunked uploads; set `upload: monolithic` on the sink'
  return undefined
}

/** Core's words for an unknown host, a refused connection or failed TLS, with what to change in a registry reference. */
function unreachableHint(err: unknown, url: string): string | undefined {
  const cause = (err as { cause?: { code?: string; message?: string } })?.cause
  const code = cause?.code ?? (err as { code?: string })?.code
  const detail = cause?.message ?? (err instanceof Error ? err.message : String(err))
  const host = hostOf(url)
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `the host \`${host}\` is unknown; check the registry name in the reference`
  if (code === 'ECONNREFUSED') return `nothing listens at \`${host}\`; is the registry running, and is the port right?`
  if (/certificate|SSL|TLS|self.signed/i.test(detail) || code?.startsWith('ERR_TLS') || code?.includes('CERT'))
    return `TLS to \`${host}\` failed; trust the registry's CA (NODE_EXTRA_CA_CERTS), or for a test registry set \`insecure: true\` on the sink or base`
  return undefined
}

function hostOf(url: string): string {
  try {
    return new URL(url).host
  } catch {
    return url
  }
}
