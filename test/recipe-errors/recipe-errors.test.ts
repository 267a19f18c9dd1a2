// Malformed recipes through the real CLI: every problem reported at once with file:line:col, exit
// code 2, no secret in the output, and the image layout the recipe names left exactly as it was.
import { cp, mkdir, readdir, readFile, writeFile } from 'node:fs/promises'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { tempDir, type TempDir } from '../../tools/harness/temp.js'
import type { RunResult } from '../../tools/harness/tools.js'
import { assertCliBuilt, cliEnv, modelcar as runCli, sha256 } from '../e2e/support.js'

const CASES = fileURLToPath(new URL('./cases', import.meta.url))
const SECRET = 'hf_supersecretvalue'

interface Problem {
  /** Where stderr must say the problem is: `case.yaml:line:col`. */
  line: number
  col: number
  /** A part of the message, and optionally of the hint on the line below it. */
  message: string
  hint?: string
}

interface Case {
  problems: Problem[]
  /** More arguments after `run FILE`. */
  args?: string[]
  /** Also check `modelcar validate` on it. */
  validate?: boolean
}

// Expected problems in file order: the CLI sorts them by line.
const CASES_TABLE: Record<string, Case> = {
  'yaml-bad-indentation.yaml': {
    problems: [
      { line: 5, col: 4, message: 'YAML: Sequence item without - indicator', hint: 'line 5 is indented by 3 spaces, the line above by 4' },
    ],
    validate: true,
  },
  'yaml-unclosed-quote.yaml': {
    problems: [{ line: 4, col: 11, message: 'YAML: the double-quoted string that starts here is not closed', hint: 'end it with `"`' }],
  },
  'yaml-duplicate-key.yaml': {
    problems: [{ line: 9, col: 5, message: 'YAML: duplicate key `tag` (first at line 8)', hint: 'keep one of them' }],
  },
  'yaml-tab-indentation.yaml': {
    problems: [{ line: 4, col: 1, message: 'YAML: Tabs are not allowed as indentation', hint: 'indent with spaces' }],
  },
  'not-a-mapping.yaml': {
    problems: [
      {
        line: 1,
        col: 1,
        message: 'a recipe is a mapping of fields, but this file holds a list',
        hint: 'start with `apiVersion: modelcar/v1`',
      },
    ],
  },
  'missing-api-version.yaml': {
    problems: [
      { line: 1, col: 1, message: 'the recipe is missing the required field `apiVersion`', hint: 'add `apiVersion: modelcar/v1`' },
    ],
  },
  'wrong-api-version.yaml': { problems: [{ line: 1, col: 13, message: 'apiVersion: `modelcar/v2` must be `modelcar/v1`' }] },
  'unknown-top-level-key-typo-sinkz.yaml': {
    problems: [
      {
        line: 5,
        col: 1,
        message: 'unknown field `sinkz` in the recipe (did you mean `sinks`?)',
        hint: 'allowed: apiVersion, base, platforms, sources, transforms, image, attach, sign, sinks',
      },
    ],
    validate: true,
  },
  'local-unknown-key-pth.yaml': {
    problems: [
      {
        line: 4,
        col: 5,
        message: '[local] unknown field `pth` in sources[0] (did you mean `path`?)',
        hint: 'allowed: path, include, exclude, into',
      },
    ],
    validate: true,
  },
  'local-missing-path.yaml': {
    problems: [{ line: 3, col: 5, message: '[local] sources[0] is missing the required field `path`', hint: 'add `path: ./model`' }],
  },
  'image-compression-wrong-type.yaml': {
    problems: [{ line: 7, col: 16, message: 'image.compression: `5` is not one of `none`, `gzip`, `zstd`' }],
  },
  'image-compression-not-in-enum.yaml': {
    problems: [{ line: 6, col: 16, message: 'image.compression: `lz4` is not one of `none`, `gzip`, `zstd`' }],
  },
  'image-prefix-without-slash.yaml': {
    problems: [{ line: 6, col: 11, message: 'image.prefix: `models` is not in the expected form', hint: 'starting with `/`' }],
  },
  'sources-empty-list.yaml': { problems: [{ line: 2, col: 10, message: 'sources needs at least 1 entry' }] },
  'sinks-missing.yaml': {
    problems: [
      {
        line: 1,
        col: 1,
        message: 'the recipe is missing the required field `sinks`',
        hint: 'add `sinks: [{"type":"oci-layout","path":"./out"}]`',
      },
    ],
  },
  'source-unknown-type-hf2.yaml': {
    problems: [
      {
        line: 3,
        col: 11,
        message: 'unknown source `hf2` (did you mean `hf`?)',
        hint: 'a plugin is installed with `npm install modelcar-source-hf2`',
      },
    ],
    validate: true,
  },
  'sink-entry-without-type.yaml': {
    problems: [{ line: 6, col: 5, message: 'sinks[0] has no `type`', hint: 'sinks available: `oci-layout`' }],
  },
  'source-entry-is-string.yaml': {
    problems: [{ line: 3, col: 5, message: 'sources[0]: expected a mapping with a `type`, got a string `./model`', hint: '- type: local' }],
  },
  'transform-entry-is-list.yaml': {
    problems: [{ line: 6, col: 5, message: 'transforms[0]: expected a mapping with a `type`, got a list' }],
  },
  'base-docker-scheme.yaml': {
    problems: [
      { line: 2, col: 7, message: 'base `docker://x` is not a base image reference', hint: 'for `docker://x` that is `registry:x`' },
    ],
  },
  'platforms-with-base-image.yaml': {
    problems: [{ line: 3, col: 1, message: '`platforms` applies only to `base: scratch`', hint: 'remove `platforms`' }],
  },
  'platforms-bad-string.yaml': {
    problems: [{ line: 4, col: 5, message: 'platforms[1]: `linux-arm64` is not in the expected form', hint: 'e.g. `linux/amd64`' }],
  },
  'env-var-unset-without-default.yaml': {
    problems: [{ line: 4, col: 11, message: 'environment variable `MODEL_DIR` is not set', hint: '`${MODEL_DIR:-value}`' }],
    validate: true,
  },
  'env-var-malformed-name.yaml': {
    problems: [{ line: 8, col: 10, message: '`${1BAD}` is not a variable reference', hint: 'not starting with a digit' }],
  },
  'secret-token-in-local-source.yaml': {
    problems: [{ line: 5, col: 5, message: '[local] unknown field `token` in sources[0]' }],
    validate: true,
  },
  'secret-token-at-top-level.yaml': { problems: [{ line: 2, col: 1, message: 'unknown field `hfToken` in the recipe' }] },
  'secret-token-expanded-into-wrong-field.yaml': {
    problems: [{ line: 6, col: 11, message: 'image.prefix: (a value from the environment) is not in the expected form' }],
  },
  'layers-group-below-bad-unit.yaml': {
    problems: [
      { line: 8, col: 17, message: '[layers] transforms[0].groupBelow: `1 MiBB` is not in the expected form', hint: '`64KiB`, `1MiB`' },
    ],
  },
  'layers-max-layers-too-small.yaml': {
    problems: [{ line: 7, col: 16, message: '[layers] transforms[0].maxLayers: `1` is too small: it must be at least 2' }],
  },
  'oci-layout-bad-tag.yaml': {
    problems: [
      {
        line: 8,
        col: 10,
        message: '[oci-layout] sinks[0].tag: `bad tag` is not in the expected form',
        hint: 'must match `^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$`',
      },
    ],
  },
  'several-errors-sorted-by-line.yaml': {
    problems: [
      { line: 2, col: 7, message: 'base `docker://busybox` is not a base image reference', hint: '`registry:busybox`' },
      { line: 5, col: 5, message: '[local] unknown field `pth` in sources[0] (did you mean `path`?)' },
      {
        line: 7,
        col: 11,
        message: 'unknown transform `anotate` (did you mean `annotate`?)',
        hint: 'transforms available: `annotate`, `layers`, `modelcard`',
      },
      { line: 10, col: 16, message: 'image.compression: `lz4` is not one of `none`, `gzip`, `zstd`' },
      { line: 14, col: 10, message: '[oci-layout] sinks[0].tag: `bad tag` is not in the expected form' },
    ],
    validate: true,
  },
  'set-override-introduces-error.yaml': {
    args: ['--set', 'image.compression=lz4'],
    problems: [
      { line: 6, col: 3, message: 'image.compression: `lz4` is not one of `none`, `gzip`, `zstd` (from `--set image.compression`)' },
    ],
    validate: true,
  },
}

function modelcar(args: string[], cwd: string): Promise<RunResult> {
  // The environment a CI job would have: a token set, the variables the cases expect unset.
  const env = cliEnv({ HF_TOKEN: SECRET })
  delete env.MODEL_DIR
  return runCli(args, { cwd, env })
}

/** Every file under `dir`, relative path → sha256 of its content. */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {}
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue
    const abs = join(entry.parentPath, entry.name)
    out[relative(dir, abs)] = sha256(await readFile(abs))
  }
  return out
}

let work: TempDir
/** A folder with `model/`, and the real image layout `out/` the CLI wrote from `valid.yaml`. */
let template: string

beforeAll(async () => {
  await assertCliBuilt()
  work = await tempDir('recipe-errors')
  template = join(work.path, 'template')
  await mkdir(join(template, 'model'), { recursive: true })
  await writeFile(join(template, 'model/config.json'), '{"architectures": ["XorMLP"]}\n')
  await writeFile(join(template, 'model/README.md'), '# xor\n\nA tiny model.\n')
  await writeFile(join(template, 'model/model.safetensors'), Buffer.alloc(4096, 7))
  const valid =
    'apiVersion: modelcar/v1\nsources:\n  - type: local\n    path: ./model\ntransforms:\n  - type: modelcard\n    file: README.md\nsinks:\n  - type: oci-layout\n    path: ./out\n    tag: latest\n'
  await writeFile(join(template, 'valid.yaml'), valid)
  const made = await modelcar(['run', 'valid.yaml'], template)
  expect(made.code, made.stderr).toBe(0)
  expect(Object.keys(await snapshot(join(template, 'out')))).toContain('index.json')
})

afterAll(async () => {
  await work?.cleanup()
})

/** A fresh folder holding the template (model and layout) and the case file. */
async function caseDir(file: string, label: string): Promise<string> {
  const dir = join(work.path, `${label}-${file.replace(/\.yaml$/, '')}`)
  await cp(template, dir, { recursive: true })
  await cp(join(CASES, file), join(dir, file))
  return dir
}

function expectReported(file: string, c: Case, r: RunResult): void {
  const output = r.stdout + r.stderr
  expect(output).not.toContain(SECRET)
  expect(r.code, output).toBe(2)
  const n = c.problems.length
  expect(r.stderr).toContain(`error: ${file}: ${n} problem${n === 1 ? '' : 's'} in the recipe`)
  // One located line per problem, none twice, in file order.
  const located = [...r.stderr.matchAll(new RegExp(`^  ${file.replace(/\./g, '\\.')}:(\\d+):(\\d+): `, 'gm'))].map((m) => `${m[1]}:${m[2]}`)
  expect(located).toEqual(c.problems.map((p) => `${p.line}:${p.col}`))
  for (const p of c.problems) {
    const line = `  ${file}:${p.line}:${p.col}: ${p.message}`
    expect(r.stderr).toContain(line)
    if (p.hint) {
      const after = r.stderr.slice(r.stderr.indexOf(line) + line.length).split('\n')
      // The message may end in a note (`(from --set …)`): the hint is on the next line.
      expect(after[1], `hint of ${line}`).toContain('hint: ')
      expect(after[1]).toContain(p.hint)
    }
  }
}

// Each test has its own folder and child process: they run side by side.
describe.concurrent('malformed recipes', () => {
  it('has at least 24 cases, each one in the table', async () => {
    const files = (await readdir(CASES)).filter((f) => f.endsWith('.yaml')).sort()
    expect(files.length).toBeGreaterThanOrEqual(24)
    expect(files).toEqual(Object.keys(CASES_TABLE).sort())
  })

  it.each(Object.entries(CASES_TABLE))('run %s: exit 2, every problem located, layout unchanged', async (file, c) => {
    const dir = await caseDir(file, 'run')
    const before = await snapshot(dir)
    const r = await modelcar(['run', file, ...(c.args ?? [])], dir)
    expectReported(file, c, r)
    expect(r.stdout).toBe('')
    // Nothing half-written: not in the layout, not beside it.
    expect(await snapshot(dir)).toEqual(before)
  })

  it.each(Object.entries(CASES_TABLE).filter(([, c]) => c.validate))('validate %s: the same report', async (file, c) => {
    const dir = await caseDir(file, 'validate')
    const before = await snapshot(dir)
    const r = await modelcar(['validate', file, ...(c.args ?? [])], dir)
    expectReported(file, c, r)
    expect(await snapshot(dir)).toEqual(before)
  })
})

describe.concurrent('--json', () => {
  it.each(['several-errors-sorted-by-line.yaml', 'secret-token-in-local-source.yaml'])(
    '%s: one error event with located diagnostics',
    async (file) => {
      const c = CASES_TABLE[file]!
      const dir = await caseDir(file, 'json')
      const before = await snapshot(dir)
      const r = await modelcar(['run', file, '--json'], dir)
      expect(r.code).toBe(2)
      expect(r.stdout + r.stderr).not.toContain(SECRET)
      expect(r.stderr).toBe('')
      const lines = r.stdout.split('\n').filter(Boolean)
      expect(lines).toHaveLength(1)
      const event = JSON.parse(lines[0]!) as {
        type: string
        code: string
        diagnostics: { location: { file: string; line: number; col: number }; message: string }[]
      }
      expect(event).toMatchObject({ type: 'error', code: 'RECIPE_INVALID' })
      expect(event.diagnostics.map((d) => d.location)).toEqual(c.problems.map((p) => ({ file, line: p.line, col: p.col })))
      event.diagnostics.forEach((d, i) => expect(d.message).toContain(c.problems[i]!.message))
      expect(await snapshot(dir)).toEqual(before)
    },
  )
})

describe.concurrent('secrets', () => {
  it.each(Object.keys(CASES_TABLE).filter((f) => f.startsWith('secret-')))(
    '%s: the token is not even masked, it is never printed',
    async (file) => {
      const dir = await caseDir(file, 'secret')
      const r = await modelcar(['run', file], dir)
      // The CLI masks env secrets as `***`; the loader must not rely on that.
      expect(r.stdout + r.stderr).not.toContain(SECRET)
      expect(r.stdout + r.stderr).not.toContain('***')
    },
  )
})
