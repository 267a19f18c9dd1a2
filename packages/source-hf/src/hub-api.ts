// The Hub's JSON API as the source uses it, through @huggingface/hub: the revision resolved to a
// commit, and the repository's files at that commit. Every request goes through ctx.fetch,
// retried by core's one policy (a transient 503 on a listing page is asked again); a refusal
// becomes a message that says what it means.
import { datasetInfo, listFiles, modelInfo } from '@huggingface/hub'
import { ModelcarError, redactUrl, retryingFetch, type ComponentContext } from '@modelcar/core'
import { hubFailure, hubUnreachable, refusalOf, type HubAsk, type HubRefusal } from './hub-errors.js'

/** A file of the repository as the tree listing gives it. */
export interface HubEntry {
  path: string
  size: number
  /** The git blob sha1 (of the pointer, for an LFS file). */
  oid?: string
  /** The content's sha256, for an LFS file. */
  lfs?: { oid: string }
}

export interface RepoCommit {
  sha: string
  /** Whether the repo is gated (`auto` or `manual`): reading its files needs a token with access. */
  gated: boolean
}

const SHA_RE = /^[0-9a-f]{40}$/

export class HubApi {
  /** The JS client keeps no headers of a failed response; the fetch it is given remembers them by URL. */
  private readonly refusals = new Map<string, HubRefusal>()
  private readonly fetch: typeof globalThis.fetch

  constructor(
    private readonly endpoint: string,
    private readonly ask: HubAsk,
    ctx: ComponentContext,
  ) {
    const retrying = retryingFetch(ctx.fetch, {
      signal: ctx.signal,
      onRetry: (what, n, reason, delayMs) => {
        const [method, url] = what.split(' ')
        ctx.logger.warn(`[${method}] ${redactUrl(url ?? '')}: ${reason}; asking again in ${delayMs / 1000} s (retry ${n})`)
      },
    })
    this.fetch = async (input, init) => {
      const url = input instanceof Request ? input.url : String(input)
      const method = init?.method ?? 'GET'
      let res: Response
      try {
        res = await retrying(input, init)
      } catch (err) {
        throw hubUnreachable(err, method, url)
      }
      if (!res.ok) this.refusals.set(res.url || url, refusalOf(res, method, res.url || url))
      return res
    }
  }

  private get params() {
    return { hubUrl: this.endpoint, fetch: this.fetch, ...(this.ask.token ? { accessToken: this.ask.token.token } : {}) }
  }

  /** The commit the revision names now, once: every file is then read at that commit. */
  async commit(): Promise<RepoCommit> {
    const { repo, revision } = this.ask
    let info: { sha?: string; gated?: unknown }
    try {
      const query = { name: repo.name, revision, additionalFields: ['sha'] as ['sha'], ...this.params }
      info = repo.type === 'model' ? await modelInfo(query) : await datasetInfo(query)
    } catch (err) {
      throw hubFailure(err, this.ask, this.refusals)
    }
    const sha = info.sha
    if (!sha || !SHA_RE.test(sha))
      throw new ModelcarError('COMPONENT_FAILED', `the Hub gave no commit for \`${revision}\` of ${repo.kind} \`${repo.name}\``)
    if (SHA_RE.test(revision) && revision !== sha)
      throw new ModelcarError('COMPONENT_FAILED', `the Hub resolved commit \`${revision}\` to \`${sha}\``)
    return { sha, gated: Boolean(info.gated) }
  }

  /** Every file of the repository at `sha` (folders are not entries of a model). */
  async files(sha: string): Promise<HubEntry[]> {
    const { repo } = this.ask
    const entries: HubEntry[] = []
    try {
      for await (const e of listFiles({ repo: { type: repo.type, name: repo.name }, revision: sha, recursive: true, ...this.params })) {
        if (e.type === 'file') entries.push(e)
      }
    } catch (err) {
      throw hubFailure(err, this.ask, this.refusals)
    }
    return entries
  }
}
