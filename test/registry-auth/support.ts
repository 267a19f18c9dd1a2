// Shared by the registry auth tests: auth files and helper scripts in temporary folders, a fetch
// that records what went on the wire, and a check that no secret reached an error.
import { chmod, mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { expect } from 'vitest'
import { isModelcarError, type ModelcarError } from '@modelcar/core'

export interface WireRecord {
  method: string
  url: string
  /** The Authorization scheme sent (`basic`, `bearer`) or `none`. */
  authorization: string
  status: number
}

/** Real fetch, with every request and its answer's status recorded. */
export function recordingFetch(): { fetch: typeof globalThis.fetch; wire: WireRecord[] } {
  const wire: WireRecord[] = []
  const wrapped: typeof globalThis.fetch = async (input, init) => {
    const url = input instanceof Request ? input.url : String(input)
    const auth = new Headers(init?.headers).get('authorization')
    const record: WireRecord = {
      method: (init?.method ?? 'GET').toUpperCase(),
      url,
      authorization: auth ? auth.split(' ')[0]!.toLowerCase() : 'none',
      status: 0,
    }
    wire.push(record)
    const res = await fetch(input, init)
    record.status = res.status
    return res
  }
  return { fetch: wrapped, wire }
}

/** `auth` value of an auth.json entry. */
export const basicAuth = (user: string, password: string) => Buffer.from(`${user}:${password}`).toString('base64')

export async function writeJson(path: string, value: unknown): Promise<string> {
  await mkdir(join(path, '..'), { recursive: true })
  await writeFile(path, JSON.stringify(value, null, 2))
  return path
}

/**
 * Writes `docker-credential-<name>` into binDir: a shell script that answers `get` for serverUrl
 * with the JSON given (and "credentials not found" for anything else), and logs each call to
 * <binDir>/<name>.log (the server URL asked for, never the answer).
 */
export async function writeCredentialHelper(
  binDir: string,
  name: string,
  answers: Record<string, { Username: string; Secret: string }>,
): Promise<string> {
  await mkdir(binDir, { recursive: true })
  const cases = Object.entries(answers)
    .map(([server, answer]) => `  ${shellQuote(server)}) printf '%s' ${shellQuote(JSON.stringify({ ServerURL: server, ...answer }))} ;;`)
    .join('\n')
  const script =
    '#!/bin/sh\n' +
    '# A docker credential helper for tests: answers `get` from a fixed table.\n' +
    `[ "$1" = get ] || { echo "unsupported verb $1" >&2; exit 2; }\n` +
    'read -r server\n' +
    `printf '%s\\n' "$server" >> ${shellQuote(join(binDir, `${name}.log`))}\n` +
    'case "$server" in\n' +
    cases +
    '\n  *) echo "credentials not found in native keychain"; exit 1 ;;\nesac\n'
  const path = join(binDir, `docker-credential-${name}`)
  await writeFile(path, script)
  await chmod(path, 0o755)
  return path
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`
}

/** Runs fn, expects a ModelcarError, checks that no secret is in anything it says, and returns it. */
export async function expectAuthError(fn: () => Promise<unknown>, secrets: string[]): Promise<ModelcarError> {
  let caught: unknown
  try {
    await fn()
  } catch (err) {
    caught = err
  }
  expect(isModelcarError(caught), `expected a ModelcarError, got ${String(caught)}`).toBe(true)
  const err = caught as ModelcarError
  const said = `${err.message}\n${err.hint ?? ''}\n${String(err.stack)}\n${JSON.stringify(err)}`
  for (const s of secrets) expect(said.includes(s), 'a secret is in the error').toBe(false)
  return err
}
