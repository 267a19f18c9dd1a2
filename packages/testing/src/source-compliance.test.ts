// The kit against sources with one deliberate defect each: every defect must be caught, with a
// message that names the rule, and a correct source must pass.
import { createHash } from 'node:crypto'
import { Readable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { defineSource, errors, Type, type ModelFile } from '@modelcar/core'
import { assertSourceCompliance } from './source-compliance.js'
import { testContext } from './test-context.js'

const FILES: Record<string, Buffer> = {
  'config.json': Buffer.from('{"a":1}\n'),
  'weights/model.safetensors': Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 31) % 251)),
  'README.md': Buffer.from('# card\n'),
}

interface Defects {
  /** Added to every listed size. */
  sizeOff?: number
  /** Each listing returns the files in another order. */
  unstable?: boolean
  /** open() ignores `start`. */
  ignoresStart?: boolean
  /** open() starts one byte late. */
  offByOne?: boolean
  path?: string
  digest?: string
  /** A failing config throws this instead of a ModelcarError. */
  plainError?: boolean
  /** The error message carries the token. */
  leaksToken?: boolean
  /** create() reads this variable of process.env. */
  readsEnv?: string
  /** open() calls a library that reads this variable of process.env. */
  libraryReadsEnv?: string
  /** open() of this file never settles. */
  hangs?: string
  /**
   * How each file's identity is made: `stable` (correct: a hash of the content), `perListing`
   * (changes with every listing), `token` (carries FIXTURE_TOKEN from ctx.env), `registered` (carries
   * the config's token, registered with ctx.secret()), `shared` (the same for every file), `number`;
   * `region` and `ref` carry FIXTURE_REGION and FIXTURE_REF from ctx.env.
   */
  identity?: 'stable' | 'perListing' | 'token' | 'registered' | 'shared' | 'number' | 'region' | 'ref'
  /** Each file's fingerprint: `stable` (correct) or `perListing` (a time stamp in it). */
  fingerprint?: 'stable' | 'perListing'
}

/** A stand-in for a dependency that reads its own settings from process.env. */
function libraryDefault(name: string): string | undefined {
  return process.env[name]
}

/** The identity and fingerprint of a file, as the defects make them. */
function contentNames(defects: Defects, name: string, listing: number, env: Record<string, string | undefined>, token?: string) {
  const sha1 = createHash('sha1').update(FILES[name]!).digest('hex')
  const identity = {
    stable: `fixture:${sha1}`,
    perListing: `fixture:${name}@listing-${listing}`,
    token: `fixture:${sha1}?key=${env.FIXTURE_TOKEN}`,
    registered: `fixture:${sha1}@${token}`,
    shared: 'fixture:v1',
    number: 42 as unknown as string,
    region: `fixture:${env.FIXTURE_REGION}/${sha1}`,
    ref: `fixture:${sha1}@${env.FIXTURE_REF}`,
  }
  const fingerprint = { stable: `ino:${sha1.slice(0, 8)}`, perListing: `ino:${sha1.slice(0, 8)};seen:${listing}` }
  return {
    ...(defects.identity ? { identity: identity[defects.identity] } : {}),
    ...(defects.fingerprint ? { fingerprint: fingerprint[defects.fingerprint] } : {}),
  }
}

function source(defects: Defects = {}) {
  let listings = 0
  let lists = 0
  return defineSource({
    type: 'fixture',
    description: 'Files held in memory, with deliberate defects.',
    schema: Type.Object(
      {
        missing: Type.Optional(Type.Boolean({ description: 'Fail as a source does when its model is not there.' })),
        token: Type.Optional(Type.String({ description: 'A secret.' })),
      },
      { additionalProperties: false },
    ),
    create(config, ctx) {
      if (config.token) ctx.secret(config.token)
      // What a component must not do: its environment is ctx.env.
      if (defects.readsEnv) void process.env[defects.readsEnv]
      return {
        async *list() {
          const listing = ++lists
          if (config.missing) {
            if (defects.plainError) throw new Error('ENOENT: no such file')
            throw errors.sourcePathMissing(defects.leaksToken ? `model?token=${config.token}` : 'model')
          }
          const names = Object.keys(FILES).sort()
          if (defects.unstable && listings++ % 2 === 1) names.reverse()
          for (const name of names) {
            const bytes = FILES[name]!
            const file: ModelFile = {
              path: name === 'README.md' && defects.path ? defects.path : name,
              size: bytes.length + (defects.sizeOff ?? 0),
              ...(name === 'config.json' && defects.digest ? { digest: defects.digest } : {}),
              ...contentNames(defects, name, listing, ctx.env, config.token),
              async open(opts = {}) {
                if (defects.libraryReadsEnv) libraryDefault(defects.libraryReadsEnv)
                if (defects.hangs === name) await new Promise(() => {})
                const start = defects.ignoresStart ? 0 : (opts.start ?? 0) + (defects.offByOne && opts.start ? 1 : 0)
                return Readable.from([bytes.subarray(start, start + 1000), bytes.subarray(start + 1000)])
              },
            }
            yield file
          }
        },
      }
    },
  })
}

describe('assertSourceCompliance', () => {
  it('passes a correct source and reports what it read', async () => {
    const report = await assertSourceCompliance(source(), {}, { failing: [{ missing: true, token: 'tok_secret_1234' }] })
    expect(report.files.map((f) => [f.path, f.size])).toEqual([
      ['README.md', 7],
      ['config.json', 8],
      ['weights/model.safetensors', 70_000],
    ])
    expect(report.checks).toContain('open({ start }) yields exactly the bytes from start on')
    expect(report.checks).toContain('failures are ModelcarErrors without secrets')
  })

  it.each<[string, Defects, RegExp]>([
    [
      'a size that is not the byte count',
      { sizeOff: 1 },
      /\[fixture\] not compliant: `README.md` is listed with size 8 but open\(\) yields 7 bytes/,
    ],
    [
      'a listing that changes between two runs',
      { unstable: true },
      /listing is not stable: two listings of the same config differ at entry 0/,
    ],
    [
      'open() that ignores start',
      { ignoresStart: true },
      /opened at start 1 yields 70000 bytes; expected the last 69999 bytes of the file \(is `start` ignored\?\)/,
    ],
    ['open() that resumes one byte late', { offByOne: true }, /opened at start 1 yields 69998 bytes/],
    ['a path that climbs out with ..', { path: '../etc/passwd' }, /path `..\/etc\/passwd` is unsafe: .*would escape the image prefix/],
    ['an absolute path', { path: '/etc/passwd' }, /path `\/etc\/passwd` is unsafe: .*is absolute/],
    ['a path with an empty segment', { path: 'docs//README.md' }, /path `docs\/\/README.md` is not in normal form/],
    ['a Windows path', { path: 'docs\\README.md' }, /has a backslash/],
    [
      'a digest that does not match the bytes',
      { digest: `sha256:${'0'.repeat(64)}` },
      /`config.json` is listed with digest `sha256:0{64}` but its bytes hash to `sha256:[0-9a-f]{64}`/,
    ],
    ['a malformed digest', { digest: 'md5:abc' }, /has digest `md5:abc`, not `sha256:` and 64 hex digits/],
  ])('catches %s', async (_what, defects, message) => {
    await expect(assertSourceCompliance(source(defects), {})).rejects.toThrow(message)
  })

  it('catches a source that throws a plain Error instead of a ModelcarError', async () => {
    await expect(assertSourceCompliance(source({ plainError: true }), {}, { failing: [{ missing: true }] })).rejects.toThrow(
      /failing\[0\] threw Error `ENOENT: no such file`, not a ModelcarError/,
    )
  })

  it('catches an error message that shows a registered secret', async () => {
    await expect(
      assertSourceCompliance(source({ leaksToken: true }), {}, { failing: [{ missing: true, token: 'tok_secret_1234' }] }),
    ).rejects.toThrow(/failing\[0\]: the error message shows a secret/)
  })

  it('catches a failing config that does not fail, and a config the schema rejects', async () => {
    await expect(assertSourceCompliance(source(), {}, { failing: [{}] })).rejects.toThrow(/failing\[0\] \(\{\}\) did not fail/)
    await expect(assertSourceCompliance(source(), { pth: './x' })).rejects.toThrow(/the config is rejected by the component's own schema/)
  })

  it('throws an AssertionError, so any test runner reports a failed assertion', async () => {
    const err = await assertSourceCompliance(source({ sizeOff: 1 }), {}).catch((e: unknown) => e)
    expect((err as Error).name).toBe('AssertionError')
  })

  it('catches an undocumented schema field and a missing description', async () => {
    const bare = defineSource({ type: 'bare', description: '', schema: Type.Object({}), create: () => ({ async *list() {} }) })
    await expect(assertSourceCompliance(bare, {})).rejects.toThrow(/\[bare\] not compliant: has no `description`/)
    const undocumented = defineSource({
      type: 'undoc',
      description: 'x',
      schema: Type.Object({ path: Type.String() }),
      create: () => ({ async *list() {} }),
    })
    await expect(assertSourceCompliance(undocumented, { path: 'x' })).rejects.toThrow(/schema fields without a description: path/)
  })

  it('catches a source that reads process.env, naming the variables', async () => {
    await expect(assertSourceCompliance(source({ readsEnv: 'MYSTORE_TOKEN' }), {})).rejects.toThrow(
      /\[fixture\] not compliant: read `MYSTORE_TOKEN` from process.env while it ran: take settings from the config or from `ctx.env`/,
    )
  })

  it('catches a library the source calls reading process.env, unless its variables are allowed', async () => {
    await expect(assertSourceCompliance(source({ libraryReadsEnv: 'MYLIB_REGION' }), {})).rejects.toThrow(
      /read `MYLIB_REGION` from process.env .*list them in `allowEnv`/,
    )
    const report = await assertSourceCompliance(source({ libraryReadsEnv: 'MYLIB_REGION' }), {}, { allowEnv: ['MYLIB_*'] })
    expect(report.checks).toContain('reads nothing from process.env (ctx.env only)')
  })

  it('does not blame the source for what other code reads from process.env meanwhile', async () => {
    const elsewhere = setInterval(() => void process.env.SOMEONE_ELSES_SETTING, 1)
    try {
      await assertSourceCompliance(source(), {})
    } finally {
      clearInterval(elsewhere)
    }
  })

  it('fails a hook that never settles with the step and a likely cause, before the test runner’s timeout', async () => {
    await expect(assertSourceCompliance(source({ hangs: 'config.json' }), {}, { stepTimeoutMs: 200 })).rejects.toThrow(
      /\[fixture\] not compliant: open\(\) of `config.json` at byte 0 did not settle within 200 ms: does a request never get an answer\?/,
    )
  })
})

describe('assertSourceCompliance: identity and fingerprint', () => {
  const env = { FIXTURE_TOKEN: 'tok_live_9f8e7d6c5b4a', FIXTURE_REGION: 'eu-central-1', HOME: '/home/fixture' }
  const withEnv = { context: () => testContext({ type: 'fixture', env }) }

  it('passes stable identities and fingerprints, one content each, that show no secret (an ordinary env value is fine)', async () => {
    const report = await assertSourceCompliance(source({ identity: 'region', fingerprint: 'stable' }), {}, withEnv)
    expect(report.checks).toContain('identities and fingerprints are stable strings, name one content each and carry no secret')
    const config = report.files.find((f) => f.path === 'config.json')!
    expect(config.identity).toMatch(/^fixture:eu-central-1\/[0-9a-f]{40}$/)
    expect(config.fingerprint).toMatch(/^ino:[0-9a-f]{8}$/)
  })

  it('does not claim the rule for a source that names no content', async () => {
    const report = await assertSourceCompliance(source(), {})
    expect(report.checks).not.toContain('identities and fingerprints are stable strings, name one content each and carry no secret')
  })

  it.each<[string, Defects, RegExp]>([
    [
      'an identity that changes from one listing to the next',
      { identity: 'perListing' },
      /\[fixture\] not compliant: `README.md` is listed with identity `fixture:README.md@listing-1` then `fixture:README.md@listing-2`: an identity must be the same in every listing of the same content/,
    ],
    [
      'a fingerprint with a time stamp in it',
      { identity: 'stable', fingerprint: 'perListing' },
      /`README.md` is listed with fingerprint `ino:[0-9a-f]{8};seen:1` then `ino:[0-9a-f]{8};seen:2`: a fingerprint must be the same in every listing/,
    ],
    [
      'an identity that carries a token from the env',
      { identity: 'token' },
      /\[fixture\] not compliant: `README.md` has an identity that contains the value of `FIXTURE_TOKEN` from the context's env: an identity is written into the layer's annotations, in every image, so it must carry no secret/,
    ],
    [
      'an identity that is not a string',
      { identity: 'number' },
      /`README.md` has identity 42: when given, an identity is a non-empty string/,
    ],
    [
      'one identity for different contents',
      { identity: 'shared' },
      /`README.md` and `config.json` have the same identity `fixture:v1` but different bytes: an identity names one content, or the engine reuses the wrong layer/,
    ],
  ])('catches %s', async (_what, defects, message) => {
    await expect(assertSourceCompliance(source(defects), {}, withEnv)).rejects.toThrow(message)
  })

  it('catches an identity that carries a secret the source registered, and never shows the secret', async () => {
    const err = (await assertSourceCompliance(source({ identity: 'registered' }), { token: 'tok_config_5551212' }).catch(
      (e: unknown) => e,
    )) as Error
    expect(err.message).toMatch(/`README.md` has an identity that contains a secret the source registered with ctx.secret\(\)/)
    expect(err.message).not.toContain('tok_config_5551212')
  })

  it('takes a value shaped like a well-known token as a secret, whatever its variable is called', async () => {
    const shaped = { context: () => testContext({ type: 'fixture', env: { FIXTURE_REF: 'hf_abcdefghijklmnop' } }) }
    await expect(assertSourceCompliance(source({ identity: 'ref' }), {}, shaped)).rejects.toThrow(
      /`README.md` has an identity that contains the value of `FIXTURE_REF` from the context's env/,
    )
    const plain = { context: () => testContext({ type: 'fixture', env: { FIXTURE_REF: 'release-2026-12' } }) }
    await assertSourceCompliance(source({ identity: 'ref' }), {}, plain)
  })
})
