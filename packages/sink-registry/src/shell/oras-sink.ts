// Sink `oras`: for users whose pipelines already push with oras. The image is written to an OCI
// layout, then `oras cp --from-oci-layout DIR:TAG REF` copies it with every platform manifest
// (oras copies an index together with its manifests).
import path from 'node:path'
import { Type } from '@sinclair/typebox'
import { defineSink, withDefault } from '@modelcar/core'
import { layoutThenCopy } from './layout-then-copy.js'
import { isLoopbackHost, parseImageReference } from '@modelcar/registry'
import { signedRepository } from '../attachments/registry-attachments.js'
import { copyAttachments } from './tool-attachments.js'
import { runTool, type Tool } from './run-tool.js'

export const ORAS: Tool = {
  name: 'oras',
  install:
    'install the oras CLI (https://oras.land/docs/installation): e.g. `brew install oras`, or the release tarball from github.com/oras-project/oras/releases; or use the `registry` sink, which needs no tool',
}

export const orasSinkSchema = Type.Object(
  {
    ref: Type.String({
      description: 'Where oras copies the image: `host/repo:tag`; several tags as `host/repo:tag1,tag2`.',
      examples: ['ghcr.io/org/granite:2b', 'registry.example.com/models/granite:2b,latest'],
      minLength: 1,
      pattern: '^[^\\s:/]+(:\\d+)?/[^\\s]+$',
    }),
    plainHttp: Type.Optional(
      Type.Boolean({
        description:
          'Talk plain HTTP to the registry (`--to-plain-http`). Default: true for a registry on the loopback interface (`localhost`, `127.0.0.1`), false elsewhere.',
      }),
    ),
    insecure: withDefault(Type.Boolean({ description: 'Accept a TLS certificate that does not verify (`--to-insecure`).' }), false),
    registryConfig: Type.Optional(
      Type.String({
        description:
          "Credentials file for the destination (`--to-registry-config`), relative to the recipe. Default: Docker's config, as oras reads it.",
        examples: ['./config.json'],
        minLength: 1,
      }),
    ),
    concurrency: withDefault(Type.Integer({ description: 'Blobs oras uploads at once (`--concurrency`).', minimum: 1, maximum: 64 }), 3),
    layout: Type.Optional(
      Type.String({
        description:
          'Keep the OCI layout oras copies from in this folder (relative to the recipe). Default: a temporary folder, removed afterwards.',
        examples: ['./out'],
        minLength: 1,
      }),
    ),
    args: Type.Optional(
      Type.Array(Type.String(), {
        description:
          'More `oras cp` options, placed before the source and destination. Never put credentials here: they would show in the process list.',
        examples: [['--to-ca-file', '/etc/certs/ca.pem']],
      }),
    ),
  },
  { additionalProperties: false },
)

export const orasSink = defineSink({
  type: 'oras',
  description: 'Writes the image to an OCI layout, then pushes it with `oras cp --from-oci-layout`.',
  schema: orasSinkSchema,
  create(config, ctx) {
    const host = config.ref.split('/')[0]!
    const plainHttp = config.plainHttp ?? isLoopbackHost(host)
    const registryConfig = config.registryConfig && path.resolve(ctx.baseDir, config.registryConfig)
    const hint = `check that you can push there: \`oras login ${host}\`, or give \`registryConfig\``
    const ref = parseImageReference(config.ref.split(',')[0]!)
    const copyArgs = (layoutDir: string, tag: string, to: string) =>
      orasCopyArgs({
        layoutDir,
        tag,
        ref: to,
        plainHttp,
        insecure: config.insecure,
        registryConfig,
        concurrency: config.concurrency,
        extra: config.args ?? [],
      })
    return layoutThenCopy(ctx, {
      target: `oras:${config.ref}`,
      layout: config.layout,
      ...(ref && {
        repository: signedRepository(ref),
        copyAttachments: (layoutDir, attachments) =>
          copyAttachments(
            layoutDir,
            attachments,
            {
              ref,
              insecure: plainHttp || config.insecure,
              authFile: registryConfig,
              copy: async (tag, to) => {
                await runTool(ORAS, copyArgs(layoutDir, tag, to), ctx, hint)
              },
            },
            ctx,
          ),
      }),
      async check() {
        await runTool(ORAS, ['version'], ctx)
      },
      async copy(layoutDir, tag) {
        const { stdout } = await runTool(ORAS, copyArgs(layoutDir, tag, config.ref), ctx, hint)
        // oras ends with `Digest: sha256:…` for what it copied.
        return /^Digest: (sha256:[0-9a-f]{64})\s*$/m.exec(stdout)?.[1]
      },
    })
  },
})

export interface OrasCopy {
  layoutDir: string
  tag: string
  ref: string
  plainHttp: boolean
  insecure: boolean
  registryConfig?: string
  concurrency: number
  extra: readonly string[]
}

/** The `oras cp` command line (exported for tests: it is the contract with oras 1.x). */
export function orasCopyArgs(c: OrasCopy): string[] {
  return [
    'cp',
    '--from-oci-layout',
    '--concurrency',
    String(c.concurrency),
    ...(c.plainHttp ? ['--to-plain-http'] : []),
    ...(c.insecure ? ['--to-insecure'] : []),
    ...(c.registryConfig ? ['--to-registry-config', c.registryConfig] : []),
    ...c.extra,
    `${c.layoutDir}:${c.tag}`,
    c.ref,
  ]
}
