import { describe, expect, it } from 'vitest'
import { parseWwwAuthenticate, pickChallenge } from './www-authenticate.js'

describe('parseWwwAuthenticate', () => {
  it('reads a distribution Bearer challenge, commas inside the quoted scope included', () => {
    const header =
      'Bearer realm="http://127.0.0.1:5003/token",service="test-registry",scope="repository:proto/test:pull,push",error="insufficient_scope"'
    expect(parseWwwAuthenticate(header)).toEqual([
      {
        scheme: 'bearer',
        params: {
          realm: 'http://127.0.0.1:5003/token',
          service: 'test-registry',
          scope: 'repository:proto/test:pull,push',
          error: 'insufficient_scope',
        },
      },
    ])
  })

  it('reads Basic, case-insensitive names, spaces, escapes and unquoted values', () => {
    expect(parseWwwAuthenticate('basic  Realm = "a \\"quoted\\" realm" , charset=UTF-8')).toEqual([
      { scheme: 'basic', params: { realm: 'a "quoted" realm', charset: 'UTF-8' } },
    ])
  })

  it('splits several challenges joined in one value (as fetch joins repeated headers)', () => {
    const list = parseWwwAuthenticate(
      'Basic realm="basic-realm", Bearer realm="https://auth.example/token",service="reg", scope="repository:a:pull repository:b:pull"',
    )
    expect(list.map((c) => c.scheme)).toEqual(['basic', 'bearer'])
    expect(list[1]!.params).toEqual({ realm: 'https://auth.example/token', service: 'reg', scope: 'repository:a:pull repository:b:pull' })
    expect(pickChallenge(list)?.scheme).toBe('bearer')
  })

  it('survives garbage without throwing, and finds nothing usable in it', () => {
    for (const bad of ['', '=', '"unterminated', ',,,', '=x, "y"', 'Negotiate']) {
      const list = parseWwwAuthenticate(bad)
      expect(pickChallenge(list)).toBeUndefined()
    }
  })
})
