// Lookup order and key matching of findCredentials against real files and real helper scripts in
// temporary folders (never the machine's own files: every test sets HOME, XDG_* and PATH).
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { basicAuth, expectAuthError, writeCredentialHelper, writeJson } from '../../../../test/registry-auth/support.js'
import { authFilePaths } from './auth-file-store.js'
import type { Env } from './credential-store.js'
import { findCredentials } from './credentials.js'

let home: string
let env: Env
let bin: string

beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'modelcar-creds-'))
  bin = join(home, 'bin')
  env = { HOME: home, XDG_RUNTIME_DIR: join(home, 'run'), PATH: `${bin}:${process.env.PATH}` }
})
afterEach(async () => {
  await rm(home, { recursive: true, force: true })
})

const entry = (user: string, password = `${user}-secret`) => ({ auth: basicAuth(user, password) })
const paths = () => ({
  runtime: join(home, 'run', 'containers', 'auth.json'),
  config: join(home, '.config', 'containers', 'auth.json'),
  docker: join(home, '.docker', 'config.json'),
  legacy: join(home, '.dockercfg'),
})

describe('where credentials are looked for', () => {
  it('reads runtime auth.json, then ~/.config, then ~/.docker/config.json, then ~/.dockercfg', async () => {
    const p = paths()
    const host = 'reg.example:5000'
    await writeJson(p.runtime, { auths: { [host]: entry('runtime') } })
    await writeJson(p.config, { auths: { [host]: entry('config') } })
    await writeJson(p.docker, { auths: { [host]: entry('docker') } })
    await writeJson(p.legacy, { [host]: entry('legacy') }) // legacy format: no `auths` wrapper
    expect(await findCredentials(host, env)).toEqual({ username: 'runtime', password: 'runtime-secret', source: p.runtime })
    await rm(p.runtime)
    expect(await findCredentials(host, env)).toMatchObject({ username: 'config', source: p.config })
    await rm(p.config)
    expect(await findCredentials(host, env)).toMatchObject({ username: 'docker', source: p.docker })
    await rm(p.docker)
    expect(await findCredentials(host, env)).toMatchObject({ username: 'legacy', source: p.legacy })
    await rm(p.legacy)
    expect(await findCredentials(host, env)).toBeUndefined()
  })

  it('honours XDG_CONFIG_HOME and DOCKER_CONFIG; without XDG_RUNTIME_DIR uses /run/containers/<uid>', () => {
    const files = authFilePaths({ HOME: '/h', XDG_CONFIG_HOME: '/cfg', DOCKER_CONFIG: '/dk' }).map((f) => f.path)
    expect(files).toEqual([
      `/run/containers/${process.getuid!()}/auth.json`,
      '/cfg/containers/auth.json',
      '/dk/config.json',
      '/h/.dockercfg',
    ])
  })

  it('REGISTRY_AUTH_FILE replaces every other file, as in podman and skopeo', async () => {
    const host = 'reg.example'
    await writeJson(paths().runtime, { auths: { [host]: entry('runtime') } })
    const only = await writeJson(join(home, 'elsewhere', 'auth.json'), { auths: { 'other.example': entry('other') } })
    const withFile = { ...env, REGISTRY_AUTH_FILE: only }
    expect(authFilePaths(withFile)).toEqual([{ path: only, legacy: false }])
    expect(await findCredentials(host, withFile)).toBeUndefined()
    expect(await findCredentials('other.example', withFile)).toMatchObject({ username: 'other', source: only })
  })

  it('skips empty entries (what docker login leaves with a credsStore) and goes on to the next file', async () => {
    const host = 'reg.example'
    await writeJson(paths().runtime, { auths: { [host]: {} } })
    await writeJson(paths().docker, { auths: { [host]: entry('docker') } })
    expect(await findCredentials(host, env)).toMatchObject({ username: 'docker' })
  })
})

describe('which key matches', () => {
  it('the most specific repository namespace wins, down to the host', async () => {
    const file = paths().runtime
    await writeJson(file, {
      auths: {
        'quay.example': entry('host'),
        'quay.example/org': entry('org'),
        'quay.example/org/model': entry('model'),
      },
    })
    expect(await findCredentials('quay.example/org/model', env)).toMatchObject({ username: 'model' })
    expect(await findCredentials('quay.example/org/model2', env)).toMatchObject({ username: 'org' })
    expect(await findCredentials('quay.example/org/sub/deep', env)).toMatchObject({ username: 'org' })
    expect(await findCredentials('quay.example/other/x', env)).toMatchObject({ username: 'host' })
    expect(await findCredentials('quay.example', env)).toMatchObject({ username: 'host' })
    expect(await findCredentials('quay.example:8443', env)).toBeUndefined()
  })

  it('legacy URL keys (`https://host/v1/`, `http://host`) match by host', async () => {
    await writeJson(paths().docker, { auths: { 'https://reg.example:5000/v1/': entry('v1'), 'http://plain.example': entry('plain') } })
    expect(await findCredentials('reg.example:5000/a/b', env)).toMatchObject({ username: 'v1' })
    expect(await findCredentials('plain.example', env)).toMatchObject({ username: 'plain' })
    expect(await findCredentials('reg.example', env)).toBeUndefined()
  })

  it('Docker Hub: `https://index.docker.io/v1/` (Docker) and `docker.io` (containers) serve registry-1.docker.io', async () => {
    await writeJson(paths().docker, { auths: { 'https://index.docker.io/v1/': entry('hub-docker') } })
    expect(await findCredentials('registry-1.docker.io/library/busybox', env)).toMatchObject({ username: 'hub-docker' })
    await writeJson(paths().runtime, { auths: { 'docker.io': entry('hub-containers'), 'docker.io/acme': entry('hub-acme') } })
    expect(await findCredentials('docker.io', env)).toMatchObject({ username: 'hub-containers' })
    expect(await findCredentials('registry-1.docker.io/acme/model', env)).toMatchObject({ username: 'hub-acme' })
  })

  it('reads identitytoken next to auth, and the clear username/password form', async () => {
    await writeJson(paths().runtime, {
      auths: {
        'a.example': { auth: basicAuth('someone', ''), identitytoken: 'refresh-abc' },
        'b.example': { username: 'clear', password: 'clear-pass' },
      },
    })
    expect(await findCredentials('a.example', env)).toEqual({ username: 'someone', identityToken: 'refresh-abc', source: paths().runtime })
    expect(await findCredentials('b.example', env)).toMatchObject({ username: 'clear', password: 'clear-pass' })
  })

  it('a broken file is an error naming the file, without quoting its content', async () => {
    const file = paths().runtime
    await writeJson(file, {})
    const { writeFile } = await import('node:fs/promises')
    await writeFile(file, '{"auths": {"reg.example": {"auth": "c2VjcmV0LXRoYXQtbXVzdC1ub3Qtc2hvdw==" ')
    const err = await expectAuthError(
      () => findCredentials('reg.example', env),
      ['c2VjcmV0LXRoYXQtbXVzdC1ub3Qtc2hvdw', 'secret-that-must-not-show'],
    )
    expect(err.code).toBe('REGISTRY_CREDENTIALS_UNREADABLE')
    expect(err.message).toContain(`\`${file}\``)
    expect(err.message).toContain('not valid JSON')
  })

  it('an `auth` that is not base64 of user:password is an error, without the value', async () => {
    await writeJson(paths().runtime, { auths: { 'reg.example': { auth: 'no colon here!' } } })
    const err = await expectAuthError(() => findCredentials('reg.example', env), ['no colon here!'])
    expect(err.message).toContain('`auth` of `reg.example`')
  })
})

describe('credential helpers (docker-credential-*)', () => {
  it('credHelpers[host] wins over auths in the same file; the helper gets the host on stdin', async () => {
    await writeCredentialHelper(bin, 'fake', { 'reg.example': { Username: 'helper-user', Secret: 'helper-secret' } })
    await writeJson(paths().docker, { auths: { 'reg.example': entry('file') }, credHelpers: { 'reg.example': 'fake' } })
    expect(await findCredentials('reg.example/org/m', env)).toEqual({
      username: 'helper-user',
      password: 'helper-secret',
      source: 'docker-credential-fake',
    })
    expect(await readFile(join(bin, 'fake.log'), 'utf8')).toBe('reg.example\n')
  })

  it('Docker Hub helpers are asked for https://index.docker.io/v1/', async () => {
    await writeCredentialHelper(bin, 'hub', { 'https://index.docker.io/v1/': { Username: 'hubuser', Secret: 'hub-secret' } })
    await writeJson(paths().docker, { credHelpers: { 'docker.io': 'hub' } })
    expect(await findCredentials('registry-1.docker.io/library/x', env)).toMatchObject({
      username: 'hubuser',
      source: 'docker-credential-hub',
    })
  })

  it('credsStore serves hosts that auths leaves empty; a filled auths entry comes first', async () => {
    await writeCredentialHelper(bin, 'store', {
      'stored.example': { Username: 'stored', Secret: 'stored-secret' },
      'filled.example': { Username: 'wrong', Secret: 'x' },
    })
    await writeJson(paths().docker, { auths: { 'stored.example': {}, 'filled.example': entry('filled') }, credsStore: 'store' })
    expect(await findCredentials('stored.example', env)).toMatchObject({ username: 'stored', source: 'docker-credential-store' })
    expect(await findCredentials('filled.example', env)).toMatchObject({ username: 'filled', source: paths().docker })
  })

  it('`<token>` as the user name means an identity token', async () => {
    await writeCredentialHelper(bin, 'tok', { 'reg.example': { Username: '<token>', Secret: 'refresh-xyz' } })
    await writeJson(paths().runtime, { credHelpers: { 'reg.example': 'tok' } })
    expect(await findCredentials('reg.example', env)).toEqual({ identityToken: 'refresh-xyz', source: 'docker-credential-tok' })
  })

  it('"credentials not found" means none from this file: the next file is read', async () => {
    await writeCredentialHelper(bin, 'empty', {})
    await writeJson(paths().runtime, { credHelpers: { 'reg.example': 'empty' } })
    expect(await findCredentials('reg.example', env)).toBeUndefined()
    await writeJson(paths().legacy, { 'https://reg.example/v1/': entry('legacy') })
    expect(await findCredentials('reg.example', env)).toMatchObject({ username: 'legacy' })
  })

  it('a helper that is not installed is an error naming the binary', async () => {
    await writeJson(paths().runtime, { credHelpers: { 'reg.example': 'not-installed' } })
    const err = await expectAuthError(() => findCredentials('reg.example', env), [])
    expect(err.code).toBe('REGISTRY_CREDENTIALS_UNREADABLE')
    expect(err.message).toContain('`docker-credential-not-installed` is not on PATH')
    expect(err.hint).toContain('credHelpers')
  })

  it('a failing helper is an error with what it said', async () => {
    const { writeFile, chmod, mkdir } = await import('node:fs/promises')
    await mkdir(bin, { recursive: true })
    await writeFile(join(bin, 'docker-credential-broken'), '#!/bin/sh\necho "keychain is locked" >&2\nexit 3\n')
    await chmod(join(bin, 'docker-credential-broken'), 0o755)
    await writeJson(paths().runtime, { credHelpers: { 'reg.example': 'broken' } })
    const err = await expectAuthError(() => findCredentials('reg.example', env), [])
    expect(err.message).toContain('`docker-credential-broken get` exited 3: keychain is locked')
  })

  it('looks the helper up on the PATH of the env it is given, not the process', async () => {
    await writeCredentialHelper(bin, 'pathonly', { 'reg.example': { Username: 'u', Secret: 's' } })
    await writeJson(paths().runtime, { credHelpers: { 'reg.example': 'pathonly' } })
    const err = await expectAuthError(() => findCredentials('reg.example', { ...env, PATH: '/usr/bin:/bin' }), [])
    expect(err.message).toContain('docker-credential-pathonly')
  })
})
