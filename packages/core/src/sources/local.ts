// Source `local`: a file or a folder on this machine. Symbolic links are stored under their own
// path with their target's bytes, so a Hugging Face cache snapshot (files linking to
// ../../blobs/…) packages as the model it is.
import { createReadStream, type Stats } from 'node:fs'
import fs from 'node:fs/promises'
import path from 'node:path'
import { Type } from '@sinclair/typebox'
import { defineSource } from '../contract/component.js'
import { withDefault } from '../contract/config.js'
import type { ModelFile } from '../contract/model-file.js'
import { errors } from '../errors/index.js'
import { joinModelPath, safeModelPath } from '../files/model-path.js'
import { selectFiles } from '../files/select-files.js'
import { FILE_READ_BYTES } from '../streams/external-memory.js'

export const localSourceSchema = Type.Object(
  {
    path: Type.String({
      description: 'A file or a folder, relative to the recipe.',
      examples: ['./model', './model.safetensors'],
      minLength: 1,
    }),
    include: Type.Optional(
      Type.Array(Type.String(), {
        description: 'Globs of files to take (all when absent). A pattern without `/` matches file names in any folder.',
        examples: [['*.safetensors', '*.json']],
      }),
    ),
    exclude: withDefault(
      Type.Array(Type.String(), {
        description: 'Globs of files to leave out.',
        examples: [['*.bin', 'checkpoints/**']],
      }),
      ['.git/**', '**/.git/**'],
    ),
    into: Type.Optional(Type.String({ description: 'Sub-folder under the image prefix to put the files in.', examples: ['extras'] })),
  },
  { additionalProperties: false },
)

export const localSource = defineSource({
  type: 'local',
  description: 'Files from a local file or folder (symbolic links are followed).',
  schema: localSourceSchema,
  create(config, ctx) {
    const root = path.resolve(ctx.baseDir, config.path)
    return {
      async *list() {
        let st
        try {
          st = await fs.stat(root)
        } catch (err) {
          const lst = await fs.lstat(root).catch(() => undefined)
          if (lst?.isSymbolicLink()) throw errors.sourceLinkBroken(root, linkProblem(err))
          throw errors.sourcePathMissing(config.path, `resolved to \`${root}\``)
        }
        if (st.isFile()) {
          yield fileOf(root, joinModelPath(config.into, safeModelPath(path.basename(root))), st)
          return
        }
        if (!st.isDirectory()) throw errors.sourcePathMissing(config.path, 'it is neither a file nor a folder')
        const walked: Walked[] = []
        for await (const w of walk(root, '', new Set([await fs.realpath(root)]))) walked.push(w)
        const chosen = selectFiles(walked, {
          include: config.include,
          exclude: config.exclude,
          path: (w) => w.rel,
          where: `\`${config.path}\``,
        })
        for (const w of chosen) yield fileOf(w.abs, joinModelPath(config.into, safeModelPath(w.rel)), w.stat)
      },
    }
  },
})

/** What `fs.stat` says of a file that the source uses. */
type FileStat = Pick<Stats, 'size' | 'mode' | 'dev' | 'ino' | 'mtimeMs' | 'ctimeMs'>

function fileOf(abs: string, modelPath: string, st: FileStat): ModelFile {
  return {
    path: modelPath,
    size: st.size,
    mode: st.mode & 0o777,
    // Device, inode, size and both times (modctl's choice, and ctime too: a rewrite that puts the
    // old mtime back still moves it): a file is not hashed twice to be recognised next time.
    fingerprint: `local:${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`,
    // No `origin`: a local path says nothing to the image's users and would make the manifest
    // depend on where the model sat on this machine.
    async open(opts = {}) {
      return createReadStream(abs, { start: opts.start ?? 0, highWaterMark: FILE_READ_BYTES, signal: opts.signal })
    },
  }
}

function linkProblem(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code
  return code === 'ELOOP' ? 'loops back on itself' : 'points to nothing (dangling)'
}

interface Walked {
  rel: string
  abs: string
  stat: FileStat
}

/** Files under `dir` in a stable order; links followed, loops and dangling links are errors. */
async function* walk(dir: string, rel: string, ancestors: Set<string>): AsyncGenerator<Walked> {
  const names = (await fs.readdir(dir)).sort()
  for (const name of names) {
    const abs = path.join(dir, name)
    const childRel = rel ? `${rel}/${name}` : name
    let st
    try {
      st = await fs.stat(abs)
    } catch (err) {
      throw errors.sourceLinkBroken(abs, linkProblem(err))
    }
    if (st.isDirectory()) {
      const real = await fs.realpath(abs)
      if (ancestors.has(real)) throw errors.sourceLinkBroken(abs, 'loops back to a folder that contains it')
      yield* walk(abs, childRel, new Set([...ancestors, real]))
    } else if (st.isFile()) {
      yield { rel: childRel, abs, stat: st }
    }
    // Sockets, FIFOs and devices are not model files.
  }
}
