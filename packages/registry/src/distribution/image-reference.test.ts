import { describe, expect, it } from 'vitest'
import { IMAGE_REFERENCE_PATTERN, isLoopbackHost, parseImageReference, registryBaseUrl } from './image-reference.js'

const D = `sha256:${'a'.repeat(64)}`

describe('parseImageReference', () => {
  it('normalises Docker Hub names as Docker does', () => {
    expect(parseImageReference('busybox')).toEqual({
      registry: 'docker.io',
      apiHost: 'registry-1.docker.io',
      repository: 'library/busybox',
      tag: 'latest',
      digest: undefined,
    })
    expect(parseImageReference('acme/model:v1')).toMatchObject({ registry: 'docker.io', repository: 'acme/model', tag: 'v1' })
    expect(parseImageReference('docker.io/busybox:1.36')).toMatchObject({
      registry: 'docker.io',
      repository: 'library/busybox',
      tag: '1.36',
    })
    expect(parseImageReference('index.docker.io/acme/x')).toMatchObject({
      registry: 'docker.io',
      apiHost: 'registry-1.docker.io',
      repository: 'acme/x',
    })
  })

  it('keeps hosts with a dot, a port, localhost or brackets', () => {
    expect(parseImageReference('quay.io/org/model:2b')).toMatchObject({
      registry: 'quay.io',
      apiHost: 'quay.io',
      repository: 'org/model',
      tag: '2b',
    })
    expect(parseImageReference('127.0.0.1:5000/a/b/c@' + D)).toMatchObject({
      registry: '127.0.0.1:5000',
      repository: 'a/b/c',
      tag: undefined,
      digest: D,
    })
    expect(parseImageReference('localhost/m:t')).toMatchObject({ registry: 'localhost', repository: 'm' })
    expect(parseImageReference('[::1]:5000/m:t')).toMatchObject({ registry: '[::1]:5000', repository: 'm' })
    expect(parseImageReference('Quay.IO/org/m')).toMatchObject({ registry: 'quay.io' })
    expect(parseImageReference('host:5000/m:t@' + D)).toMatchObject({ tag: 't', digest: D })
  })

  it('refuses what is not a reference, and the schema pattern agrees', () => {
    for (const bad of [
      '',
      'Not A Ref!',
      'quay.io/Org/model',
      'quay.io/org/model:',
      'quay.io/org/model@sha256:abc',
      'a//b',
      '/a',
      'a:b:c/d',
    ]) {
      expect(parseImageReference(bad), bad).toBeUndefined()
      expect(new RegExp(IMAGE_REFERENCE_PATTERN).test(bad), bad).toBe(false)
    }
    expect(new RegExp(IMAGE_REFERENCE_PATTERN).test('127.0.0.1:5000/models/tiny:v1')).toBe(true)
  })
})

describe('registryBaseUrl', () => {
  it('uses https except for loopback and hosts marked insecure', () => {
    expect(registryBaseUrl('quay.io', false)).toBe('https://quay.io')
    expect(registryBaseUrl('registry.internal:5000', true)).toBe('http://registry.internal:5000')
    for (const h of ['localhost:5000', '127.0.0.1:5000', '127.1.2.3', '[::1]:5000']) expect(registryBaseUrl(h, false)).toMatch(/^http:\/\//)
    for (const h of ['localhost.evil.com', '127.0.0.1.nip.io', '10.0.0.1:5000', '[::2]']) expect(isLoopbackHost(h), h).toBe(false)
  })
})

describe('isLoopbackHost', () => {
  it.each([
    ['localhost', true],
    ['localhost:5000', true],
    ['127.0.0.1:5000', true],
    ['127.1.2.3', true],
    ['[::1]:5000', true],
    ['quay.io', false],
    ['127.0.0.1.nip.io', false],
    ['10.0.0.1:5000', false],
    ['localhost.example.com', false],
  ])('%s → %s', (host, loopback) => expect(isLoopbackHost(host)).toBe(loopback))
})
