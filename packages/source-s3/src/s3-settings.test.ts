import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { clientSettings, credentialChain, readProfile } from './s3-settings.js'

let home: string
beforeAll(async () => {
  home = await mkdtemp(path.join(os.tmpdir(), 'mc-s3-settings-'))
  await mkdir(path.join(home, '.aws'))
  await writeFile(
    path.join(home, '.aws', 'config'),
    '[default]\nregion = eu-west-1\n\n[profile minio]\nregion = us-west-2\nendpoint_url = http://default-endpoint:9000\ns3 =\n  endpoint_url = http://minio.internal:9000/\n  addressing_style = path\n# a comment\n[profile other]\nregion = ap-south-1\n',
  )
  await writeFile(
    path.join(home, '.aws', 'credentials'),
    '[minio]\naws_access_key_id = AKIAMINIOEXAMPLE\naws_secret_access_key = minio-secret-from-file\n',
  )
})
afterAll(() => rm(home, { recursive: true, force: true }))

describe('readProfile', () => {
  it('reads `[profile x]` in config, `[x]` in credentials, and nested service sections', () => {
    expect(readProfile(path.join(home, '.aws', 'config'), 'minio', true)).toEqual({
      region: 'us-west-2',
      endpoint_url: 'http://default-endpoint:9000',
      's3.endpoint_url': 'http://minio.internal:9000/',
      's3.addressing_style': 'path',
    })
    expect(readProfile(path.join(home, '.aws', 'config'), 'default', true)).toEqual({ region: 'eu-west-1' })
    expect(readProfile(path.join(home, '.aws', 'credentials'), 'minio', false).aws_access_key_id).toBe('AKIAMINIOEXAMPLE')
    expect(readProfile(path.join(home, 'missing'), 'default', true)).toEqual({})
  })
})

describe('clientSettings', () => {
  it('takes region and endpoint from the recipe, then the environment, then the profile, then the default', () => {
    expect(clientSettings({ region: 'ca-central-1' }, { HOME: home, AWS_REGION: 'x-1' })).toMatchObject({
      region: 'ca-central-1',
      regionFrom: 'the recipe',
    })
    expect(clientSettings({}, { HOME: home, AWS_REGION: 'sa-east-1', AWS_DEFAULT_REGION: 'x' })).toMatchObject({
      region: 'sa-east-1',
      regionFrom: 'AWS_REGION',
    })
    expect(clientSettings({}, { HOME: home })).toMatchObject({
      region: 'eu-west-1',
      regionFrom: 'profile `default` in ~/.aws/config',
      endpoint: undefined,
    })
    expect(clientSettings({ profile: 'minio' }, { HOME: home })).toMatchObject({
      region: 'us-west-2',
      endpoint: 'http://minio.internal:9000',
      pathStyle: true,
      profile: 'minio',
    })
    expect(clientSettings({}, { HOME: home, AWS_PROFILE: 'other' })).toMatchObject({ region: 'ap-south-1', profile: 'other' })
    expect(clientSettings({}, { HOME: path.join(home, 'nothing') })).toMatchObject({ region: 'us-east-1', regionFrom: 'the default' })
    expect(clientSettings({}, { HOME: home, AWS_ENDPOINT_URL: 'http://a', AWS_ENDPOINT_URL_S3: 'http://s3' }).endpoint).toBe('http://s3')
    expect(clientSettings({ endpoint: 'http://recipe/' }, { HOME: home, AWS_ENDPOINT_URL_S3: 'http://s3' }).endpoint).toBe('http://recipe')
    expect(clientSettings({ profile: 'minio' }, { HOME: home, AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: 'true' }).endpoint).toBeUndefined()
  })

  it('says where credentials come from without showing them', () => {
    const env = { HOME: home, AWS_ACCESS_KEY_ID: 'AKIAENVEXAMPLE', AWS_SECRET_ACCESS_KEY: 'env-secret-value' }
    expect(clientSettings({}, env).credentialsFrom).toBe('AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY')
    // A profile wins over static keys in the environment, as in the AWS SDKs.
    expect(clientSettings({ profile: 'minio' }, env).credentialsFrom).toMatch(/^profile `minio`/)
    for (const s of [clientSettings({}, env), clientSettings({ profile: 'minio' }, env)])
      expect(JSON.stringify(s)).not.toMatch(/secret-value|secret-from-file/)
  })
})

describe('credentialChain', () => {
  it('resolves keys from ctx.env or from the profile file it points to, and reports each secret', async () => {
    const seen: string[] = []
    const env = {
      HOME: home,
      AWS_ACCESS_KEY_ID: 'AKIAENVEXAMPLE',
      AWS_SECRET_ACCESS_KEY: 'env-secret-value',
      AWS_SESSION_TOKEN: 'env-session',
    }
    const fromEnv = await credentialChain(clientSettings({}, env), env, (c) => seen.push(c.secretAccessKey, c.sessionToken ?? ''))()
    expect(fromEnv).toMatchObject({ accessKeyId: 'AKIAENVEXAMPLE', secretAccessKey: 'env-secret-value', sessionToken: 'env-session' })
    const fileEnv = { HOME: home }
    const fromFile = await credentialChain(clientSettings({ profile: 'minio' }, fileEnv), fileEnv, (c) => seen.push(c.secretAccessKey))()
    expect(fromFile).toMatchObject({ accessKeyId: 'AKIAMINIOEXAMPLE', secretAccessKey: 'minio-secret-from-file' })
    expect(seen).toEqual(['env-secret-value', 'env-session', 'minio-secret-from-file'])
  })
})
