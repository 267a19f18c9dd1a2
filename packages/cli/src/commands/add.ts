// `modelcar add LAYOUT[:TAG] FILE...`: the one-shot form (what olot does): files as layers on
// top of the image in an OCI image layout, changed in place.
import fs from 'node:fs/promises'
import path from 'node:path'
import {
  Annotation,
  configFor,
  errors,
  ImageLayout,
  runRecipe,
  selectRoot,
  splitLayoutRef,
  type ComponentEntry,
  type ComponentKind,
  type Recipe,
} from '@modelcar/core'
import { keyValues, positiveInteger } from '../command-line/args.js'
import { CACHE_OPTIONS, cacheChoice } from '../command-line/cache-dir.js'
import { defineCommand } from '../command-line/define-command.js'
import { interruptible } from '../command-line/interrupt.js'
import { ProgressView } from '../command-line/progress-view.js'
import { officialRegistry } from '../components/official-components.js'

const COMPRESSIONS = ['none', 'gzip', 'zstd'] as const

const USAGE =
  'add LAYOUT[:TAG] FILE... [--modelcard FILE] [--annotation k=v]... [--label k=v]... [--prefix /models] [--compression none|gzip|zstd] [--concurrency N] [--cache-dir DIR | --no-cache] [--json]'

export const addCommand = defineCommand({
  name: 'add',
  usage: USAGE,
  summary: 'add files as layers to an image layout, in place (like olot)',
  options: {
    modelcard: { type: 'string', short: 'm' },
    annotation: { type: 'string', multiple: true },
    label: { type: 'string', multiple: true },
    prefix: { type: 'string' },
    compression: { type: 'string' },
    json: { type: 'boolean' },
    concurrency: { type: 'string' },
    ...CACHE_OPTIONS,
  },
  async run({ values, positionals }, { output, env, usageError }) {
    const [layoutRef, ...files] = positionals
    if (!layoutRef || (files.length === 0 && !values.modelcard)) throw usageError('give an image layout and at least one file')
    const compression = values.compression ?? 'none'
    if (!isCompression(compression))
      throw errors.argumentInvalid(`--compression \`${compression}\` is not one of ${COMPRESSIONS.map((c) => `\`${c}\``).join(', ')}`)
    const { path: layoutPath, tag } = splitLayoutRef(layoutRef)
    const recipe = await buildRecipe({
      cwd: process.cwd(),
      layoutPath,
      tag,
      files,
      modelcard: values.modelcard,
      annotations: keyValues(values.annotation, 'annotation'),
      labels: keyValues(values.label, 'label'),
      prefix: values.prefix ?? '/models',
      compression,
    })
    const view = new ProgressView(output)
    const result = await interruptible((signal) =>
      runRecipe(recipe, {
        env,
        onSecret: (v) => output.addSecret(v),
        onEvent: view.on,
        signal,
        concurrency: positiveInteger(values.concurrency, 'concurrency', USAGE),
        ...cacheChoice(values, env),
      }),
    ).finally(() => view.finish())
    output.print(result.digest!)
  },
})

function isCompression(text: string): text is Recipe['image']['compression'] {
  return (COMPRESSIONS as readonly string[]).includes(text)
}

interface AddArgs {
  cwd: string
  layoutPath: string
  tag: string | undefined
  files: string[]
  modelcard: string | undefined
  annotations: Record<string, string>
  labels: Record<string, string>
  prefix: string
  compression: Recipe['image']['compression']
}

async function buildRecipe(a: AddArgs): Promise<Recipe> {
  const registry = officialRegistry()
  const entry = <K extends ComponentKind>(kind: K, type: string, config: Record<string, unknown>): ComponentEntry<K> => {
    const component = registry.get(kind, type)!
    return { kind, type, component, config: configFor(component, config) as Record<string, unknown>, location: undefined }
  }
  const layout = path.resolve(a.cwd, a.layoutPath)
  if (!(await fs.stat(path.join(layout, 'index.json')).catch(() => undefined))) {
    throw errors.layoutInvalid(layout, 'it has no index.json', 'create it first, e.g. `skopeo copy docker://busybox oci:LAYOUT:latest`')
  }
  const cardPath = a.modelcard ? path.resolve(a.cwd, a.modelcard) : undefined
  const sources: ComponentEntry<'source'>[] = []
  let cardTarget: string | undefined
  for (const f of a.files) {
    const abs = path.resolve(a.cwd, f)
    const st = await fs.stat(abs).catch(() => undefined)
    if (!st) throw errors.sourcePathMissing(f)
    // A folder keeps its name under the prefix, as olot stores it.
    sources.push(entry('source', 'local', st.isDirectory() ? { path: abs, into: path.basename(abs) } : { path: abs }))
    if (cardPath && abs === cardPath) cardTarget = path.basename(abs)
  }
  const transforms: ComponentEntry<'transform'>[] = []
  if (cardPath) transforms.push(entry('transform', 'modelcard', { file: cardTarget ?? cardPath }))
  if (Object.keys(a.annotations).length || Object.keys(a.labels).length)
    transforms.push(entry('transform', 'annotate', { annotations: a.annotations, labels: a.labels }))
  const base = await currentTag(layout, a.tag)
  if (sources.length === 0 && cardPath) {
    // Only a model card: it is the single file of the image.
    sources.push(entry('source', 'local', { path: cardPath }))
    transforms[0] = entry('transform', 'modelcard', { file: path.basename(cardPath) })
  }
  return {
    file: '(modelcar add)',
    dir: a.cwd,
    base: entry('base', 'oci-layout', a.tag ? { path: layout, tag: a.tag } : { path: layout }),
    baseText: `oci-layout:${a.layoutPath}${a.tag ? `:${a.tag}` : ''}`,
    platforms: ['linux/amd64'],
    sources,
    transforms,
    sinks: [entry('sink', 'oci-layout', { path: layout, tag: base })],
    image: { prefix: a.prefix, compression: a.compression },
  }
}

/** The tag written back: the one given, else the base image's own, else `latest`. */
async function currentTag(layout: string, tag: string | undefined): Promise<string> {
  if (tag) return tag
  const index = await new ImageLayout(layout).readIndex()
  return selectRoot(layout, index, undefined).annotations?.[Annotation.refName] ?? 'latest'
}
