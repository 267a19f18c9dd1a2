// The shape of the `skopeo` and `oras` sinks: the image goes into an OCI image layout (a
// temporary folder unless the recipe names one), and once it is complete a tool copies it on;
// then its attachments, each a copy of its own (tool-attachments.ts). Every check the
// `oci-layout` sink makes applies; the temporary folder is removed either way, after the
// attachments (the engine calls attach() after every commit) or when the run fails.
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {
  ociLayoutSink,
  type Attachment,
  type CommitResult,
  type ComponentContext,
  type EditedImage,
  type SinkInstance,
} from '@modelcar/core'

export interface LayoutThenCopy {
  /** Human form of the destination, for messages: `skopeo:docker://quay.io/org/model:v1`. */
  target: string
  /** Folder for the layout, relative to the recipe; a temporary folder when absent. */
  layout?: string
  /** Cheap checks: the tool is installed. */
  check(): Promise<void>
  /** Copies the finished layout on; returns the digest the tool reports, if it does. */
  copy(layoutDir: string, tag: string, image: EditedImage): Promise<string | undefined>
  /** The repository signatures name (a registry destination); undefined: the sink takes no attachments. */
  repository?: string
  /** Copies the attachments on from the layout (see copyAttachments); undefined: the destination takes none. */
  copyAttachments?(layoutDir: string, attachments: readonly Attachment[]): Promise<void>
}

const TAG = 'latest'

export function layoutThenCopy(ctx: ComponentContext, spec: LayoutThenCopy): SinkInstance {
  let dir: string | undefined
  let temporary = false
  let inner: SinkInstance | undefined

  const ready = (): SinkInstance => {
    if (!inner) throw new Error(`${spec.target}: blobs arrived before prepare()`)
    return inner
  }
  const copyAttachments = spec.copyAttachments?.bind(spec)
  const cleanup = async () => {
    if (temporary && dir) await rm(dir, { recursive: true, force: true })
  }

  return {
    target: spec.target,
    check: spec.check,
    async prepare() {
      await spec.check()
      temporary = spec.layout === undefined
      dir = temporary
        ? await mkdtemp(path.join(ctx.env.TMPDIR || os.tmpdir(), 'modelcar-layout-'))
        : path.resolve(ctx.baseDir, spec.layout!)
      inner = await ociLayoutSink.create({ path: dir, tag: TAG }, ctx)
      await inner.prepare?.()
    },
    has: (desc) => ready().has(desc),
    openBlob: (hint) => ready().openBlob(hint),
    async commit(image): Promise<CommitResult> {
      let done = false
      try {
        const written = await ready().commit(image)
        const reported = await spec.copy(dir!, TAG, image)
        if (reported !== undefined && reported !== written.digest) {
          throw new Error(`the copy reports digest \`${reported}\`, but the image is \`${written.digest}\``)
        }
        done = true
        return { ref: spec.target, digest: written.digest }
      } finally {
        // With attachments to copy, the layout stays until attach() (or abort()).
        if (!done || !copyAttachments) await cleanup()
      }
    },
    ...(copyAttachments && {
      repository: spec.repository,
      async attach(attachments: readonly Attachment[]) {
        try {
          if (attachments.length) await copyAttachments(dir!, attachments)
        } finally {
          await cleanup()
        }
      },
    }),
    async abort() {
      await inner?.abort?.().catch(() => {})
      await cleanup()
    },
  }
}
