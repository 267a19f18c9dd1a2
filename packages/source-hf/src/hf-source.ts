// Source `hf`: a Hugging Face Hub repository, read at one commit, streamed file by file into
// layers with no copy on local disk. The revision is resolved once to a commit sha, so a push to
// the branch mid-run cannot mix two revisions; LFS files are checked against their sha256.
import { Type } from '@sinclair/typebox'
import { defineSource, joinModelPath, selectFiles, withDefault, withRetries, type ComponentContext, type ModelFile } from '@modelcar/core'
import { HubApi, type HubEntry } from './hub-api.js'
import { openHubFile } from './hub-download.js'
import { refusalError, type HubAsk, type RepoRef } from './hub-errors.js'
import { hubToken } from './hub-token.js'

export const HUB_URL = 'https://huggingface.co'

export const hfSourceSchema = Type.Object(
  {
    repo: Type.String({
      description: 'The repository: `org/name` for a model, `datasets/org/name` for a dataset.',
      pattern: '^(models/|datasets/)?[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?$',
      examples: ['ibm-granite/granite-3.1-2b-instruct'],
    }),
    revision: withDefault(
      Type.String({
        description: 'Branch, tag or commit; resolved once to a commit sha, recorded in annotations.',
        examples: ['main', 'v1.0'],
        minLength: 1,
      }),
      'main',
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
    modelcard: withDefault(
      Type.Union([Type.Boolean(), Type.String()], {
        description:
          'The repo file that becomes the model card layer (`true` = README.md, `false` = none). A `modelcard` transform overrides it.',
        examples: [true, 'README.md'],
      }),
      true,
    ),
  },
  { additionalProperties: false },
)

export function parseRepo(repo: string, endpoint: string): RepoRef {
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
    const ask: HubAsk = { repo: parseRepo(config.repo, endpoint), revision: config.revision, token: undefined }
    let sha: string | undefined
    let listed: ModelFile[] = []
    return {
      async *list() {
        ask.token = await hubToken(config.token, ctx)
        const api = new HubApi(endpoint, ask, ctx)
        const commit = await api.commit()
        sha = commit.sha
        if (commit.gated && !ask.token)
          throw refusalError({ method: 'GET', status: 401, url: ask.repo.webUrl, errorCode: 'GatedRepo', ...NOTHING_SAID }, ask)
        const chosen = selectFiles(await api.files(commit.sha), {
          include: config.include,
          exclude: config.exclude,
          path: (e) => e.path,
          where: `${ask.repo.kind} \`${ask.repo.name}\` at \`${config.revision}\``,
        })
        listed = chosen.map((e) => hubFile(e, { endpoint, ask, commit: commit.sha, into: config.into, ctx }))
        // A gated repo with a token: make sure it has access before any layer is written.
        if (commit.gated && listed[0]) await probe(listed[0], ctx.signal)
        yield* listed
      },
      annotations() {
        return {
          'org.opencontainers.image.source': ask.repo.webUrl,
          'org.opencontainers.image.revision': sha ?? '',
          'modelcar.hf.repo': ask.repo.id,
          'modelcar.hf.revision': config.revision,
        }
      },
      modelcard() {
        const card = config.modelcard === true ? 'README.md' : config.modelcard || undefined
        return card ? listed.find((f) => f.path === joinModelPath(config.into, card))?.path : undefined
      },
    }
  },
})

const NOTHING_SAID = { errorMessage: undefined, requestId: undefined, retryAfterMs: undefined }

interface FileContext {
  endpoint: string
  ask: HubAsk
  commit: string
  into: string | undefined
  ctx: ComponentContext
}

function hubFile(e: HubEntry, { endpoint, ask, commit, into, ctx }: FileContext): ModelFile {
  const { repo } = ask
  const url = `${endpoint}/${repo.type === 'dataset' ? 'datasets/' : ''}${repo.name}/resolve/${commit}/${e.path.split('/').map(encodeURIComponent).join('/')}`
  return {
    path: joinModelPath(into, e.path),
    size: e.size,
    digest: e.lfs ? `sha256:${e.lfs.oid}` : undefined,
    // A small (non-LFS) file is named by its git blob id until it is read: the same id in any
    // commit is the same bytes, so a later run finds its layer without downloading it.
    ...(!e.lfs && e.oid ? { identity: `git-blob:${e.oid}` } : {}),
    origin: `hf://${repo.id}@${commit}/${e.path}`,
    open: async (opts = {}) =>
      // A read cut exactly at the end resumes at `size`: nothing is left, and the Hub would
      // answer 416 to `bytes=SIZE-`.
      (opts.start ?? 0) >= e.size
        ? (async function* () {})()
        : openHubFile({
            fetch: ctx.fetch,
            url,
            token: ask.token?.token,
            start: opts.start ?? 0,
            etags: e.lfs ? [`"${e.lfs.oid}"`] : e.oid ? [`"${e.oid}"`] : [],
            signal: opts.signal ?? ctx.signal,
            refused: (r) => refusalError(r, ask),
          }),
  }
}

/** Opens the file's last byte and lets go: the Hub refuses a gated file to a token without access. */
async function probe(file: ModelFile, signal: AbortSignal): Promise<void> {
  await withRetries(
    async () => {
      const body = (await file.open({ start: Math.max(0, file.size - 1), signal })) as AsyncIterable<Uint8Array>
      await body[Symbol.asyncIterator]().return?.()
    },
    { signal },
  )
}
