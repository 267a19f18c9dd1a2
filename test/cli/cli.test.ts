// The CLI as a user meets it: the README's quickstart, inspect, schema, init, help and exit codes.
import { cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { tempDir, type TempDir } from '../../tools/harness/temp.js'
import { mustRun } from '../../tools/harness/tools.js'
import { assertCliBuilt, modelcar, mustModelcar, printedDigest, REPO_ROOT } from '../e2e/support.js'

let tmp: TempDir
beforeAll(async () => {
  await assertCliBuilt()
  tmp = await tempDir('mc-cli')
})
afterAll(async () => {
  await tmp?.cleanup()
})

describe('modelcar CLI', () => {
  it('the quickstart builds a two-platform image that skopeo reads, and inspect shows its card', async () => {
    const dir = join(tmp.path, 'quickstart')
    await cp(join(REPO_ROOT, 'examples', 'quickstart'), dir, { recursive: true, filter: (src) => !src.endsWith('/out') })
    await rm(join(dir, 'out'), { recursive: true, force: true })
    const digest = printedDigest(await mustModelcar(['run', join(dir, 'recipe.yaml')]))
    const raw = JSON.parse((await mustRun('skopeo', ['inspect', '--raw', `oci:${join(dir, 'out')}:latest`])).stdout) as {
      manifests: { platform: { architecture: string } }[]
    }
    expect(raw.manifests.map((m) => m.platform.architecture)).toEqual(['amd64', 'arm64'])

    const text = (await mustModelcar(['inspect', join(dir, 'out')])).stdout
    expect(text).toContain(digest)
    expect(text).toContain('linux/arm64')
    expect(text).toContain('model.safetensors')
    expect(text).toContain('(model card)')
    expect(text).toContain('# xor-mlp')
    const json = JSON.parse((await mustModelcar(['inspect', `oci-layout:${join(dir, 'out')}:latest`, '--json'])).stdout) as {
      digest: string
      platforms: { platform: string; labels: Record<string, string>; layers: { title?: string; modelcard?: boolean }[] }[]
      modelcard: { text: string }
    }
    expect(json.digest).toBe(digest)
    expect(json.platforms.map((p) => p.platform)).toEqual(['linux/amd64', 'linux/arm64'])
    expect(json.platforms[0]!.labels).toEqual({ team: 'ml' })
    expect(json.platforms[0]!.layers.filter((l) => l.modelcard).map((l) => l.title)).toEqual(['README.md'])
    expect(json.modelcard.text).toBe(await readFile(join(dir, 'model', 'README.md'), 'utf8'))
  })

  it('--dry-run prints the plan and writes nothing', async () => {
    const dir = join(tmp.path, 'dry')
    await cp(join(REPO_ROOT, 'examples', 'quickstart'), dir, { recursive: true, filter: (src) => !src.endsWith('/out') })
    await rm(join(dir, 'out'), { recursive: true, force: true })
    const result = await mustModelcar(['run', join(dir, 'recipe.yaml'), '--dry-run'])
    expect(result.stdout).toContain('base: scratch\n')
    expect(result.stdout).toMatch(/layers \(3\)/)
    expect(result.stdout).toContain('/models/model.safetensors')
    await expect(readFile(join(dir, 'out', 'index.json'))).rejects.toThrow()
  })

  it('--json writes one event per line, ending with done', async () => {
    const dir = join(tmp.path, 'json')
    await cp(join(REPO_ROOT, 'examples', 'quickstart'), dir, { recursive: true, filter: (src) => !src.endsWith('/out') })
    await rm(join(dir, 'out'), { recursive: true, force: true })
    const result = await mustModelcar(['run', join(dir, 'recipe.yaml'), '--json'])
    const events = result.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string })
    expect(events[0]!.type).toBe('plan')
    expect(events.filter((e) => e.type === 'layer-done')).toHaveLength(3)
    expect(events.at(-1)!.type).toBe('done')
    expect(result.stderr).toBe('')
  })

  it('schema prints a JSON Schema that names every official component', async () => {
    const schema = JSON.parse((await mustModelcar(['schema'])).stdout) as {
      $schema: string
      properties: Record<string, { items?: { oneOf?: { title: string }[] } }>
    }
    expect(schema.$schema).toContain('json-schema.org')
    const titles = (k: string) => schema.properties[k]!.items!.oneOf!.map((v) => v.title)
    expect(titles('sources')).toEqual(expect.arrayContaining(['source `local`', 'source `hf`']))
    expect(titles('transforms')).toEqual(expect.arrayContaining(['transform `modelcard`', 'transform `annotate`', 'transform `layers`']))
    expect(titles('sinks')).toEqual(expect.arrayContaining(['sink `oci-layout`']))
    const base = schema.properties.base as { anyOf: [{ type: string; description: string }, { oneOf: { title: string }[] }] }
    expect(base.anyOf[0]).toMatchObject({ type: 'string' })
    expect(base.anyOf[0].description).toContain('`registry:HOST/REPO[:TAG|@sha256:…]`')
    expect(base.anyOf[1].oneOf.map((v) => v.title)).toEqual(
      expect.arrayContaining(['base `scratch`', 'base `oci-layout`', 'base `registry`']),
    )
  })

  it('init writes a starter recipe that validates once its model folder exists, and refuses to overwrite', async () => {
    const dir = join(tmp.path, 'init')
    await mkdir(join(dir, 'model'), { recursive: true })
    await cp(join(REPO_ROOT, 'examples', 'quickstart', 'model'), join(dir, 'model'), { recursive: true })
    await mustModelcar(['init', join(dir, 'recipe.yaml')])
    expect((await mustModelcar(['validate', join(dir, 'recipe.yaml')])).stdout).toContain('valid (3 files in 3 layers), base: scratch')
    const event = JSON.parse((await mustModelcar(['validate', join(dir, 'recipe.yaml'), '--json'])).stdout) as Record<string, unknown>
    expect(event).toMatchObject({ type: 'valid', base: 'scratch', files: 3, layers: 3 })
    const again = await modelcar(['init', join(dir, 'recipe.yaml')])
    expect(again.code).toBe(2)
    expect(again.stderr).toContain('--force')
  })

  it('bad arguments exit 2 with a usage hint; no command prints the help', async () => {
    const unknown = await modelcar(['frobnicate'])
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toMatch(/unknown command `frobnicate`/)
    const flag = await modelcar(['run', 'x.yaml', '--no-such-flag'])
    expect(flag.code).toBe(2)
    expect(flag.stderr).toMatch(/usage: modelcar run/)
    const missing = await modelcar(['run', join(tmp.path, 'missing.yaml')])
    expect(missing.code).toBe(2)
    expect(missing.stderr).toMatch(/cannot be read/)
    expect(missing.stderr).toContain('hint: give the path of a recipe file; `modelcar init recipe.yaml` writes a starter one')
    const badNumber = await modelcar(['run', 'x.yaml', '--concurrency', '0'])
    expect(badNumber.code).toBe(2)
    expect(badNumber.stderr).toContain('--concurrency `0` is not a positive whole number')
    const none = await modelcar([])
    expect(none.code).toBe(2)
    expect(none.stdout).toContain('Commands:')
    const help = await mustModelcar(['validate', '--help'])
    expect(help.stdout).toBe('usage: modelcar validate RECIPE [--json] [--set key=value]...\n')
    expect((await mustModelcar(['run', '--json', '-h'])).stdout).toMatch(/^usage: modelcar run RECIPE /)
    const version = await mustModelcar(['--version'])
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/)
  })

  it('--json says a mistake in the arguments as one error event, with its code and hint, and exits 2', async () => {
    const result = await modelcar(['validate', 'a.yaml', 'b.yaml', '--json'])
    expect(result.code).toBe(2)
    expect(result.stderr).toBe('')
    const lines = result.stdout.trim().split('\n')
    expect(lines).toHaveLength(1)
    expect(JSON.parse(lines[0]!)).toMatchObject({
      type: 'error',
      code: 'ARGUMENT_INVALID',
      message: 'give one recipe file',
      hint: 'usage: modelcar validate RECIPE [--json] [--set key=value]...',
    })
    const unknownFlag = await modelcar(['inspect', '--json', '--nope'])
    expect(unknownFlag.code).toBe(2)
    expect(JSON.parse(unknownFlag.stdout.trim())).toMatchObject({ type: 'error', code: 'ARGUMENT_INVALID' })
  })

  it('an error from the run itself (a missing base layout): its code, component, phase and hint, as text and as JSON', async () => {
    const dir = join(tmp.path, 'no-base')
    await mkdir(join(dir, 'model'), { recursive: true })
    await cp(join(REPO_ROOT, 'examples', 'quickstart', 'model'), join(dir, 'model'), { recursive: true })
    const recipe = join(dir, 'recipe.yaml')
    await writeFile(
      recipe,
      'apiVersion: modelcar/v1\nbase: oci-layout:./nowhere:latest\nsources:\n  - type: local\n    path: ./model\nsinks:\n  - type: oci-layout\n    path: ./out\n',
    )
    const json = await modelcar(['validate', recipe, '--json'])
    expect(json.code).toBe(2)
    const event = JSON.parse(json.stdout.trim().split('\n').at(-1)!) as { message: string; hint: string }
    expect(event).toMatchObject({ type: 'error', code: 'LAYOUT_INVALID', component: 'oci-layout', phase: 'load' })
    expect(event.message).toContain(`${join(dir, 'nowhere')}\` is not a usable OCI image layout: it has no index.json`)
    const text = await modelcar(['validate', recipe])
    expect(text.code).toBe(2)
    expect(text.stderr).toBe(`error: ${event.message}\n  hint: ${event.hint}\n`)
  })
})
