import { describe, expect, it } from 'vitest'
import { orasCopyArgs } from './oras-sink.js'
import { destination, skopeoCopyArgs } from './skopeo-sink.js'
import { commandLine } from './run-tool.js'

describe('skopeo destination', () => {
  it('defaults to docker:// and keeps a transport it is given', () => {
    expect(destination('quay.io/org/m:v1')).toBe('docker://quay.io/org/m:v1')
    expect(destination('docker://quay.io/org/m:v1')).toBe('docker://quay.io/org/m:v1')
    expect(destination('containers-storage:localhost/m:v1')).toBe('containers-storage:localhost/m:v1')
  })
  it('refuses a transport skopeo does not have', () => {
    expect(() => destination('https://quay.io/org/m')).toThrow(/transport skopeo does not take/)
  })
  it('asks for digests preserved and every platform; TLS flag only for registries', () => {
    const base = { layoutDir: '/l', tag: 'latest', tlsVerify: true, digestFile: '/d', retryTimes: 3, extra: [] }
    expect(skopeoCopyArgs({ ...base, dest: 'docker://quay.io/o/m:v1', authfile: '/a.json' })).toEqual([
      'copy',
      '--preserve-digests',
      '--multi-arch',
      'all',
      '--retry-times',
      '3',
      '--digestfile',
      '/d',
      '--dest-tls-verify=true',
      '--dest-authfile',
      '/a.json',
      'oci:/l:latest',
      'docker://quay.io/o/m:v1',
    ])
    expect(skopeoCopyArgs({ ...base, dest: 'containers-storage:localhost/m:v1' })).not.toContain('--dest-tls-verify=true')
  })
})

describe('oras cp command line', () => {
  it('copies from the layout with the flags asked for', () => {
    expect(
      orasCopyArgs({
        layoutDir: '/l',
        tag: 'latest',
        ref: 'ghcr.io/o/m:v1',
        plainHttp: false,
        insecure: true,
        registryConfig: '/c.json',
        concurrency: 5,
        extra: ['--to-ca-file', '/ca.pem'],
      }),
    ).toEqual([
      'cp',
      '--from-oci-layout',
      '--concurrency',
      '5',
      '--to-insecure',
      '--to-registry-config',
      '/c.json',
      '--to-ca-file',
      '/ca.pem',
      '/l:latest',
      'ghcr.io/o/m:v1',
    ])
  })
})

describe('commandLine', () => {
  it('quotes what a shell would split', () => {
    expect(commandLine('skopeo', ['copy', 'a b', "it's"])).toBe(`skopeo copy 'a b' 'it'\\''s'`)
  })
})
