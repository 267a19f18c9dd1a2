// Source `hf`: a Hugging Face Hub repository, read at one commit, streamed file by file into
// layers with no copy on local disk. The revision is resolved once to a commit sha, so a push to
// the branch mid-run cannot mix two revisions; LFS files are checked against their sha256.
import { HubApiError, datasetInfo, listFiles, modelInfo } from '@huggingface/hub'
import { Type } from '@sinclair/typebox'
import { defineSource, globFilter, joinModelPath, ModelcarError, unmatchedPatterns, type ModelFile } from '@modelcar/core'
import { openHubFile } from './hub-download.js'
import { refusalError, type HubRefusal, type RepoRef } from './hub-errors.js'
import { findToken, type FoundToken } from './hub-token.js'

export const HUB_URL = 'https://huggingface.co'

export const hfSourceSchema = Type.Object(
  {
    repo: Type.String({
      description: 'The repository: `org/name` for a model, `datasets/org/name` for a dataset.',
      pattern: '^(models/|datasets/)?[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?$',
      examples: ['ibm-granite/granite-3.1-2b-instruct'],
    }),
    revision: Type.Optional(
      Type.String({
        description: 'Branch, tag or commit; resolved once to a commit sha, recorded in annotations.',
        default: 'main',
        examples: ['main', 'v1.0'],
        minLength: 1,
      }),
    ),
    include: Type.Optional(
      Type.Array(Type.String(), {
        description: 'Globs of files to take (all when absent); a pattern without `/` matches file names in any folder.',
        examples: [['*.safetensors', '*.json', 'README.md']],
      }),
    ),
    exclude: Type.Optional(
      Type.Array(Type.String(), { description: 'Globs of files to leave out.', examples: [['*.bin', 'original/**']] }),
    ),
    into: Type.Optional(Type.String({ description: 'Sub-folder under the image prefix to put the files in.', examples: ['granite'] })),
    token: Type.Optional(
      Type.String({
        description:
          'Access token (`hf_…`), for private and gated repos. Default: HF_TOKEN, then HUGGING_FACE_HUB_TOKEN, then the token file under HF_HOME (~/.cache/huggingface/token). Write it as `${HF_TOKEN}`, never literally.',
        examples: ['${HF_TOKEN}'],
        secret: true,
      }),
    ),
    endpoint: Type.Optional(
      Type.String({
        description: 'The Hub to read from. Default: HF_ENDPOINT, else https://huggingface.co.',
        examples: ['https://huggingface.co'],
        pattern: '^https?://',
      }),
    ),
    modelcard: Type.Optional(
      Type.Union([Type.Boolean(), Type.String()], {
        description:
          'The repo file that becomes the model card layer (`true` = README.md, `false` = none). A `modelcard` transform overrides it.',
        default: true,
        examples: [true, 'README.md'],
      }),
    ),
  },
  { additionalProperties: false },
)

const SHA_RE = /^[0-9a-f]{40}$/

export function parseRepo(repo: string, endpoint: string): RepoRef & { type: 'model' | 'dataset' } {
  const dataset = repo.startsWith('datasets/')
  const name = repo.replace(/^(models|datasets)\//, '')
  const kind = dataset ? 'dataset' : 'model'
  return { id: dataset ? `datasets/${name}` : name, kind, type: kind, name, webUrl: `${endpoint}/${dataset ? 'datasets/' : ''}${name}` }
}

export const hfSource = defineSource({
  type: 'hf',
  description: 'Files of a Hugging Face Hub repository, streamed at one commit, LFS sha256 verified.',
  schema: hfSourceSchema,
  create(config, ctx) {
    const endpoint = (config.endpoint ?? ctx.env.HF_ENDPOINT ?? HUB_URL).replace(/\/+$/, '')
    const repo = parseRepo(config.repo, endpoint)
    const revision = config.revision ?? 'main'
    const refusals = new Map<string, HubRefusal>()
    // The JS client keeps no headers of a failed response; this fetch remembers them by URL.
    const recordingFetch: typeof fetch = async (input, init) => {
      const res = await ctx.fetch(input, init)
      if (!res.ok) refusals.set(res.url || String(input), refusalOf(res, String(input)))
      return res
    }
    let sha: string | undefined
    let listed: ModelFile[] = []
    let found: FoundToken | undefined

    const fail = (err: unknown): ModelcarError => {
      if (err instanceof ModelcarError) return err
      if (err instanceof HubApiError) {
        const seen = refusals.get(err.url)
        const r = {
          status: err.statusCode,
          url: err.url,
          errorCode: undefined,
          requestId: err.requestId,
          ...seen,
          errorMessage: seen?.errorMessage ?? err.message,
        }
        return refusalError(r, repo, revision, !!found, found?.from)
      }
      const cause = err as Error & { cause?: { code?: string } }
      if (cause?.message === 'fetch failed') {
        return new ModelcarError('COMPONENT_FAILED', `cannot reach the Hub at ${endpoint} (${cause.cause?.code ?? 'network error'})`, {
          hint: 'check the network, proxy settings, or `endpoint`/HF_ENDPOINT',
          cause: err,
          retryable: false,
        })
      }
      return new ModelcarError('COMPONENT_FAILED', cause?.message ?? String(err), { cause: err })
    }

    return {
      async *list() {
        found = await findToken(config.token, ctx.env)
        if (found) {
          ctx.secret(found.token)
          if (!found.token.startsWith('hf_')) {
            throw new ModelcarError(
              'COMPONENT_INVALID',
              `the token from ${found.from} is not a Hugging Face token (they start with \`hf_\`)`,
              {
                hint: 'create one at https://huggingface.co/settings/tokens',
                input: true,
              },
            )
          }
        }
        const creds = found ? { accessToken: found.token } : {}
        let gated: unknown
        try {
          const info =
            repo.type === 'model'
              ? await modelInfo({ name: repo.name, revision, additionalFields: ['sha'], hubUrl: endpoint, fetch: recordingFetch, ...creds })
              : await datasetInfo({
                  name: repo.name,
                  revision,
                  additionalFields: ['sha'],
                  hubUrl: endpoint,
                  fetch: recordingFetch,
                  ...creds,
                })
          sha = (info as { sha?: string }).sha
          gated = (info as { gated?: unknown }).gated
        } catch (err) {
          throw fail(err)
        }
        if (!sha || !SHA_RE.test(sha))
          throw new ModelcarError('COMPONENT_FAILED', `the Hub gave no commit for \`${revision}\` of ${repo.kind} \`${repo.name}\``)
        if (SHA_RE.test(revision) && revision !== sha)
          throw new ModelcarError('COMPONENT_FAILED', `the Hub resolved commit \`${revision}\` to \`${sha}\``)
        if (gated && !found) {
          throw refusalError(
            { status: 401, url: repo.webUrl, errorCode: 'GatedRepo', errorMessage: undefined, requestId: undefined },
            repo,
            revision,
            false,
            undefined,
          )
        }

        const entries: { path: string; size: number; oid?: string; lfs?: { oid: string } }[] = []
        try {
          for await (const e of listFiles({
            repo: { type: repo.type, name: repo.name },
            revision: sha,
            recursive: true,
            hubUrl: endpoint,
            fetch: recordingFetch,
            ...creds,
          })) {
            if (e.type === 'file') entries.push(e)
          }
        } catch (err) {
          throw fail(err)
        }
        entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
        const filter = globFilter(config.include, config.exclude)
        const chosen = entries.filter((e) => filter(e.path))
        const unmatched = unmatchedPatterns(
          config.include,
          entries.map((e) => e.path),
        )
        if (unmatched.length || chosen.length === 0) {
          throw new ModelcarError(
            'SOURCE_NOTHING_MATCHED',
            `no file of ${repo.kind} \`${repo.name}\` at \`${revision}\` matches ${(unmatched.length ? unmatched : (config.include ?? ['**'])).map((p) => `\`${p}\``).join(', ')}`,
            {
              hint: `the repo has ${entries.length} files, e.g. ${entries
                .slice(0, 5)
                .map((e) => `\`${e.path}\``)
                .join(', ')}`,
              input: true,
            },
          )
        }
        listed = chosen.map((e) => fileOf(e, sha!))
        // A gated repo with a token: make sure it has access before any layer is written.
        if (gated && listed[0])
          await ((await listed[0].open({ start: Math.max(0, listed[0].size - 1) })) as AsyncIterable<Uint8Array>)
            [Symbol.asyncIterator]()
            .return?.()
        yield* listed
      },
      annotations() {
        return {
          'org.opencontainers.image.source': repo.webUrl,
          'org.opencontainers.image.revision': sha ?? '',
          'modelcar.hf.repo': repo.id,
          'modelcar.hf.revision': revision,
        }
      },
      modelcard() {
        const card =
          config.modelcard === false
            ? undefined
            : config.modelcard === true || config.modelcard === undefined
              ? 'README.md'
              : config.modelcard
        const hit = card ? listed.find((f) => f.path === joinModelPath(config.into, card)) : undefined
        return hit?.path
      },
    }

    function fileOf(e: { path: string; size: number; oid?: string; lfs?: { oid: string } }, commit: string): ModelFile {
      const url = `${endpoint}/${repo.type === 'dataset' ? 'datasets/' : ''}${repo.name}/resolve/${commit}/${e.path.split('/').map(encodeURIComponent).join('/')}`
      return {
        path: joinModelPath(config.into, e.path),
        size: e.size,
        digest: e.lfs ? `sha256:${e.lfs.oid}` : undefined,
        origin: `hf://${repo.id}@${commit}/${e.path}`,
        open: async (opts = {}) =>
          // A read cut exactly at the end resumes at `size`: nothing is left, and the Hub would
          // answer 416 to `bytes=SIZE-`.
          (opts.start ?? 0) >= e.size
            ? (async function* () {})()
            : openHubFile({
                fetch: ctx.fetch,
                url,
                token: found?.token,
                start: opts.start ?? 0,
                etags: e.lfs ? [`"${e.lfs.oid}"`] : e.oid ? [`"${e.oid}"`] : [],
                signal: opts.signal ?? ctx.signal,
                onWait: (s, status) => ctx.logger.warn(`the Hub answered ${status} for \`${e.path}\`; waiting ${s} s as it asks`),
                refused: (r) => refusalError(r, repo, revision, !!found, found?.from),
              }).catch((err: unknown) => {
                throw fail(err)
              }),
      }
    }
  },
})

function refusalOf(res: Response, requested: string): HubRefusal {
  return {
    status: res.status,
    url: res.url || requested,
    errorCode: res.headers.get('x-error-code') ?? undefined,
    errorMessage: res.headers.get('x-error-message') ?? undefined,
    requestId: res.headers.get('x-request-id') ?? undefined,
  }
}
