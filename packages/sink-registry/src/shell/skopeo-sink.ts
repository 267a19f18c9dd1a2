// Sink `skopeo`: for users whose pipelines already push with skopeo. The image is written to an
// OCI layout, then `skopeo copy --preserve-digests --multi-arch all` sends it on, so the digest
// in the destination is the digest modelcar computed (skopeo would otherwise recompress layers).
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { Type } from '@sinclair/typebox'
import { defineSink, errors, withDefault } from '@modelcar/core'
import { layoutThenCopy } from './layout-then-copy.js'
import { isLoopbackHost, parseImageReference } from '@modelcar/registry'
import { signedRepository } from '../attachments/registry-attachments.js'
import { copyAttachments } from './tool-attachments.js'
import { runTool, type Tool } from './run-tool.js'

export const SKOPEO: Tool = {
  name: 'skopeo',
  install:
    'install skopeo: `apt-get install skopeo` (Debian, Ubuntu), `dnf install skopeo` (Fedora, RHEL), `brew install skopeo` (macOS); or use the `registry` sink, which needs no tool',
}

/** skopeo transports an image can be copied to; a ref without one means `docker://`. */
const TRANSPORTS = ['docker://', 'containers-storage:', 'docker-archive:', 'oci-archive:', 'oci:', 'dir:', 'docker-daemon:']

export const skopeoSinkSchema = Type.Object(
  {
    ref: Type.String({
      description:
        'Where skopeo copies the image: `host/repo:tag` (a registry, `docker://` is implied) or any skopeo destination with its transport.',
      examples: ['quay.io/org/granite:2b', 'docker://registry.example.com/models/granite:2b', 'containers-storage:localhost/granite:2b'],
      minLength: 1,
      pattern: '^[^\\s]+$',
    }),
    tlsVerify: Type.Optional(
      Type.Boolean({
        description:
          'Require HTTPS and verified certificates (`--dest-tls-verify`). Default: true, except for a registry on the loopback interface (`localhost`, `127.0.0.1`), as Docker does.',
      }),
    ),
    authfile: Type.Optional(
      Type.String({
        description:
          "Credentials file for the destination (`--dest-authfile`), relative to the recipe. Default: where skopeo looks (`REGISTRY_AUTH_FILE`, `$XDG_RUNTIME_DIR/containers/auth.json`, Docker's config).",
        examples: ['./auth.json'],
        minLength: 1,
      }),
    ),
    retryTimes: withDefault(
      Type.Integer({ description: 'How often skopeo retries a failed transfer (`--retry-times`).', minimum: 0, maximum: 20 }),
      3,
    ),
    layout: Type.Optional(
      Type.String({
        description:
          'Keep the OCI layout skopeo copies from in this folder (relative to the recipe). Default: a temporary folder, removed afterwards.',
        examples: ['./out'],
        minLength: 1,
      }),
    ),
    args: Type.Optional(
      Type.Array(Type.String(), {
        description:
          'More `skopeo copy` options, placed before the source and destination. Never put credentials here: they would show in the process list.',
        examples: [['--dest-cert-dir', '/etc/certs']],
      }),
    ),
  },
  { additionalProperties: false },
)

export const skopeoSink = defineSink({
  type: 'skopeo',
  description: 'Writes the image to an OCI layout, then pushes it with `skopeo copy --preserve-digests --multi-arch all`.',
  schema: skopeoSinkSchema,
  create(config, ctx) {
    const dest = destination(config.ref)
    const host = dest.startsWith('docker://') ? dest.slice('docker://'.length).split('/')[0]! : undefined
    const tlsVerify = config.tlsVerify ?? !(host && isLoopbackHost(host))
    const hint =
      host === undefined ? undefined : `check that you can push there: \`skopeo login ${host}\` (or \`podman login\`), or give \`authfile\``
    const authfile = config.authfile && path.resolve(ctx.baseDir, config.authfile)
    // Attachments go to registries only: they are found there from the image's digest.
    const ref = dest.startsWith('docker://') ? parseImageReference(dest.slice('docker://'.length)) : undefined
    return layoutThenCopy(ctx, {
      target: `skopeo:${dest}`,
      layout: config.layout,
      ...(ref && {
        repository: signedRepository(ref),
        copyAttachments: (layoutDir, attachments) =>
          copyAttachments(
            layoutDir,
            attachments,
            {
              ref,
              insecure: !tlsVerify,
              authFile: authfile,
              copy: async (tag, to) => {
                await runTool(
                  SKOPEO,
                  skopeoDocumentArgs({
                    layoutDir,
                    tag,
                    to: `docker://${to}`,
                    tlsVerify,
                    authfile,
                    retryTimes: config.retryTimes,
                    extra: config.args ?? [],
                  }),
                  ctx,
                  hint,
                )
              },
            },
            ctx,
          ),
      }),
      async check() {
        await runTool(SKOPEO, ['--version'], ctx)
      },
      async copy(layoutDir, tag) {
        const scratch = await mkdtemp(path.join(ctx.env.TMPDIR || os.tmpdir(), 'modelcar-skopeo-'))
        const digestFile = path.join(scratch, 'digest')
        try {
          await runTool(
            SKOPEO,
            skopeoCopyArgs({
              layoutDir,
              tag,
              dest,
              tlsVerify,
              digestFile,
              retryTimes: config.retryTimes,
              authfile,
              extra: config.args ?? [],
            }),
            ctx,
            hint,
          )
          const digest = (await readFile(digestFile, 'utf8').catch(() => '')).trim()
          return digest || undefined
        } finally {
          await rm(scratch, { recursive: true, force: true })
        }
      },
    })
  },
})

export interface SkopeoCopy {
  layoutDir: string
  tag: string
  dest: string
  tlsVerify: boolean
  digestFile: string
  retryTimes: number
  authfile?: string
  extra: readonly string[]
}

/** The `skopeo copy` command line (exported for tests: it is the contract with skopeo 1.9+). */
export function skopeoCopyArgs(c: SkopeoCopy): string[] {
  const registry = c.dest.startsWith('docker://')
  return [
    'copy',
    '--preserve-digests',
    '--multi-arch',
    'all',
    '--retry-times',
    String(c.retryTimes),
    '--digestfile',
    c.digestFile,
    ...(registry ? [`--dest-tls-verify=${c.tlsVerify}`] : []),
    ...(c.authfile ? ['--dest-authfile', c.authfile] : []),
    ...c.extra,
    `oci:${c.layoutDir}:${c.tag}`,
    c.dest,
  ]
}

export function destination(ref: string): string {
  if (TRANSPORTS.some((t) => ref.startsWith(t))) return ref
  if (/^[a-z-]+:\/\//.test(ref))
    throw errors.argumentInvalid(
      `skopeo destination \`${ref}\` has a transport skopeo does not take`,
      `use \`host/repo:tag\` or one of ${TRANSPORTS.map((t) => `\`${t}\``).join(', ')}`,
    )
  return `docker://${ref}`
}

/** `skopeo copy` of one attachment (a manifest, its digest kept) from the layout to the registry. */
export function skopeoDocumentArgs(c: {
  layoutDir: string
  tag: string
  to: string
  tlsVerify: boolean
  authfile?: string | undefined
  retryTimes: number
  extra: readonly string[]
}): string[] {
  return [
    'copy',
    '--preserve-digests',
    '--retry-times',
    String(c.retryTimes),
    `--dest-tls-verify=${c.tlsVerify}`,
    ...(c.authfile ? ['--dest-authfile', c.authfile] : []),
    ...c.extra,
    `oci:${c.layoutDir}:${c.tag}`,
    c.to,
  ]
}
