// The image `inspect` and `verify` look at, with what is attached to it: a layout on disk, or a
// registry image read with the CLI's own context (credentials from the usual files; every secret
// they find masked in the command's output).
import path from 'node:path'
import { layoutAttachedImage, silentLogger, splitLayoutRef, type AttachedImage, type ComponentContext } from '@modelcar/core'
import { registryAttachedImage } from '@modelcar/sink-registry'
import type { Output } from '../command-line/output.js'

/** A component context for a command that reads images and runs no pipeline. */
export function commandContext(type: string, output: Output, env: NodeJS.ProcessEnv): ComponentContext {
  return {
    type,
    logger: silentLogger,
    signal: new AbortController().signal,
    concurrency: 2,
    baseDir: process.cwd(),
    env,
    fetch: globalThis.fetch,
    emit: () => {},
    secret: (v) => output.addSecret(v),
  }
}

/** `registry:REF` (or `docker://REF`), else `[oci-layout:]PATH[:TAG]`. */
export async function openAttachedImage(target: string, type: string, output: Output, env: NodeJS.ProcessEnv): Promise<AttachedImage> {
  if (target.startsWith('registry:') || target.startsWith('docker://'))
    return registryAttachedImage(target.replace(/^(registry:|docker:\/\/)/, ''), commandContext(type, output, env))
  const { path: p, tag } = splitLayoutRef(target.replace(/^oci-layout:/, ''))
  return layoutAttachedImage(path.resolve(p), tag, target)
}
