// The official sources pass the conformance kit plugin authors use: `local` on a temporary model
// folder, `hf` against the Hub emulator (through the real @huggingface/hub client), `s3` against
// s3rver (through the AWS SDK).
import { createHash, randomBytes } from 'node:crypto'
import { mkdir, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { localSource } from '@modelcar/core'
import { hfSource } from '@modelcar/source-hf'
import { s3Source } from '@modelcar/source-s3'
import { assertSourceCompliance, testContext } from '@modelcar/testing'
import { gitBlobOid, startHubEmulator, writeRepo, type HubEmulator } from '../../tools/hub-emulator/hub-emulator.mjs'
import { tempDir, type TempDir } from '../../tools/harness/temp.js'
import { putObjects, seedClient, startS3Server, type S3Server } from '../../tools/s3-server/s3-server.mjs'

const TOKEN = 'hf_compliancetoken123456'
const files: Record<string, Buffer> = {
  'config.json': Buffer.from('{"model_type":"llama"}\n'),
  'tokenizer/vocab.json': Buffer.from('{"a":1}'),
  'model.safetensors': randomBytes(2 << 20),
  'README.md': Buffer.from('# tiny\n'),
}

let tmp: TempDir
let hub: HubEmulator
let s3: S3Server
beforeAll(async () => {
  tmp = await tempDir('mc-compliance')
  const model = join(tmp.path, 'model')
  for (const [p, bytes] of Object.entries(files)) {
    await mkdir(join(model, p, '..'), { recursive: true })
    await writeFile(join(model, p), bytes)
  }
  // A Hub-cache-like link: listed under its own name with its target's bytes.
  await symlink('config.json', join(model, 'linked.json'))
  await writeRepo(join(tmp.path, 'hub'), 'acme/tiny', { files })
  await writeRepo(join(tmp.path, 'hub'), 'acme/private', { files: { 'config.json': files['config.json']! }, private: true })
  hub = await startHubEmulator({
    root: join(tmp.path, 'hub'),
    lfsThreshold: 1 << 20,
    tokens: { [TOKEN]: { user: 'ci', access: ['acme/private'] } },
  })
  s3 = await startS3Server({ directory: join(tmp.path, 's3'), buckets: ['models'] })
  const client = seedClient(s3.url)
  await putObjects(client, 'models', Object.fromEntries(Object.entries(files).map(([p, bytes]) => [`tiny/${p}`, bytes])))
  client.destroy()
})
afterAll(async () => {
  await hub?.stop()
  await s3?.stop()
  await tmp?.cleanup()
})

describe('official sources pass the conformance kit', () => {
  it('local', async () => {
    const report = await assertSourceCompliance(
      localSource,
      { path: './model' },
      {
        context: () => testContext({ type: 'local', baseDir: tmp.path }),
        failing: [{ path: './no-such-folder' }, { path: './model', include: ['*.gguf'] }],
      },
    )
    expect(report.files.map((f) => f.path)).toEqual([
      'README.md',
      'config.json',
      'linked.json',
      'model.safetensors',
      'tokenizer/vocab.json',
    ])
    // Local files are named by a fingerprint (device, inode, size, times), checked stable by the kit.
    expect(report.files.every((f) => f.fingerprint)).toBe(true)
    expect(report.checks).toContain(NAMES_CHECK)
  })

  it('hf', async () => {
    const report = await assertSourceCompliance(
      hfSource,
      { repo: 'acme/tiny', endpoint: hub.url },
      {
        context: () => testContext({ type: 'hf', env: { HF_HOME: join(tmp.path, 'no-hf-home') } }),
        failing: [
          { repo: 'acme/missing', endpoint: hub.url },
          { repo: 'acme/private', endpoint: hub.url, token: 'hf_wrongtoken0000000000' },
          { repo: 'acme/tiny', endpoint: hub.url, include: ['*.gguf'] },
        ],
      },
    )
    const weights = report.files.find((f) => f.path === 'model.safetensors')!
    // An LFS file: the Hub's sha256 is its digest, and the kit checked the bytes against it.
    expect(weights.digest).toBe(`sha256:${createHash('sha256').update(files['model.safetensors']!).digest('hex')}`)
    expect(report.files.map((f) => f.path)).toEqual(['README.md', 'config.json', 'model.safetensors', 'tokenizer/vocab.json'])
    // A small (non-LFS) file: named by its git blob id before it is read, checked stable by the kit.
    expect(report.files.find((f) => f.path === 'README.md')!.identity).toBe(`git-blob:${gitBlobOid(files['README.md']!)}`)
    expect(report.checks).toContain(NAMES_CHECK)
  })

  it('hf with a token: registered as a secret, absent from every failure', async () => {
    const ctx = testContext({ type: 'hf', env: { HF_HOME: join(tmp.path, 'no-hf-home') } })
    await assertSourceCompliance(
      hfSource,
      { repo: 'acme/private', endpoint: hub.url, token: TOKEN },
      {
        context: () => ctx,
        failing: [{ repo: 'acme/private', endpoint: hub.url, token: TOKEN, include: ['nothing*'] }],
      },
    )
    expect(ctx.secrets).toContain(TOKEN)
  })

  it('s3', async () => {
    const env = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', HOME: join(tmp.path, 'no-home') }
    const report = await assertSourceCompliance(
      s3Source,
      { bucket: 'models', prefix: 'tiny', endpoint: s3.url },
      {
        context: () => testContext({ type: 's3', env }),
        // What the AWS SDK reads of process.env on its own, whatever the client is given: client
        // options the source leaves at their defaults (defaults mode, ARN region, S3 Express,
        // FIPS and dual-stack endpoints, auth scheme, retry mode, app id), looked up in the
        // environment and then in the shared config file of the process's profile and home; and
        // its Lambda recursion-detection header, and the switch of its warning about old Node.js
        // lines (read by the first client of the process). Credentials, region and endpoint come from ctx.env.
        allowEnv: [
          'AWS_DEFAULTS_MODE',
          'AWS_S3_USE_ARN_REGION',
          'AWS_S3_DISABLE_EXPRESS_SESSION_AUTH',
          'AWS_USE_FIPS_ENDPOINT',
          'AWS_USE_DUALSTACK_ENDPOINT',
          'AWS_AUTH_SCHEME_PREFERENCE',
          'AWS_RETRY_MODE',
          'AWS_SDK_UA_APP_ID',
          'AWS_PROFILE',
          'AWS_CONFIG_FILE',
          'AWS_SHARED_CREDENTIALS_FILE',
          'HOME',
          'USERPROFILE',
          'HOMEPATH',
          'HOMEDRIVE',
          'AWS_LAMBDA_FUNCTION_NAME',
          '_X_AMZN_TRACE_ID',
          'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED',
        ],
        failing: [
          { bucket: 'no-such-bucket', endpoint: s3.url },
          { bucket: 'models', prefix: 'nothing-here', endpoint: s3.url },
          { bucket: 'models', prefix: 'tiny', endpoint: s3.url, include: ['*.gguf'] },
        ],
      },
    )
    expect(report.files.map((f) => f.path)).toEqual(['README.md', 'config.json', 'model.safetensors', 'tokenizer/vocab.json'])
    // Objects without a checksum: named by version or ETag, checked stable and free of the keys by the kit.
    expect(report.files.every((f) => f.identity?.startsWith('s3:models/tiny/'))).toBe(true)
    expect(report.checks).toContain(NAMES_CHECK)
  })
})

const NAMES_CHECK = 'identities and fingerprints are stable strings, name one content each and carry no secret'
