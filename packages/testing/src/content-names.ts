// The source kit's rules for what names a file's content before it is read: `identity` (written
// into the layer's annotations, so it travels with the image) and `fingerprint` (kept in the local
// record of layers). A later run skips a file whose name matches a layer it already has, so a
// name that changes between listings costs every reuse, one that names two contents reuses the
// wrong layer, and one that carries a token puts it into an image or a file on disk.
import type { ComponentContext, ModelFile } from '@modelcar/core'
import type { TestContext } from './test-context.js'

const KINDS = ['identity', 'fingerprint'] as const
type NameKind = (typeof KINDS)[number]
const A: Record<NameKind, string> = { identity: 'an identity', fingerprint: 'a fingerprint' }

export const NAMES_CHECK = 'identities and fingerprints are stable strings, name one content each and carry no secret'

/** A variable whose name says it holds a credential. */
const SECRET_NAME = /TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|API_?KEY|ACCESS_KEY|PRIVATE_KEY|AUTH/i
/** Values shaped like the tokens of well-known services, whatever the variable is called. */
const TOKEN_SHAPE = /^(hf_|ghp_|gho_|ghs_|github_pat_|glpat-|xox[abprs]-|sk-|AKIA|ASIA)[A-Za-z0-9_-]{8,}/

/**
 * Checks the identities and fingerprints of two listings of the same config: strings, the same in
 * both, and free of every value that looks like a token (from the context's env, or registered
 * with `ctx.secret()`). Returns whether any file has one.
 */
export function checkContentNames(first: ModelFile[], second: ModelFile[], ctx: ComponentContext, fail: (m: string) => never): boolean {
  const secrets = secretValues(ctx)
  let named = false
  for (const [i, f] of first.entries()) {
    for (const kind of KINDS) {
      const value: unknown = f[kind]
      const again: unknown = second[i]?.[kind]
      if (value === undefined && again === undefined) continue
      named = true
      if (typeof value !== 'string' || value === '')
        fail(`\`${f.path}\` has ${kind} ${JSON.stringify(value) ?? String(value)}: when given, ${A[kind]} is a non-empty string`)
      if (again !== value)
        fail(
          `\`${f.path}\` is listed with ${kind} \`${value}\` then \`${String(again)}\`: ${A[kind]} must be the same in every listing of the same content (no time, request id or signed URL in it), or no layer is ever found by it`,
        )
      const leaked = secrets.find((s) => value.includes(s.value))
      if (leaked) fail(`\`${f.path}\` has ${A[kind]} that contains ${leaked.from}: ${whereKept(kind)}, so it must carry no secret`)
    }
  }
  return named
}

/** Files with the same identity (or fingerprint) must have the same bytes: the engine takes one for the other. */
export function checkOneContentPerName(
  files: readonly { path: string; sha256: string; identity: string | undefined; fingerprint: string | undefined }[],
  fail: (m: string) => never,
): void {
  for (const kind of KINDS) {
    const seen = new Map<string, { path: string; sha256: string }>()
    for (const f of files) {
      const name = f[kind]
      if (name === undefined) continue
      const other = seen.get(name)
      if (other && other.sha256 !== f.sha256)
        fail(
          `\`${other.path}\` and \`${f.path}\` have the same ${kind} \`${name}\` but different bytes: ${A[kind]} names one content, or the engine reuses the wrong layer`,
        )
      seen.set(name, { path: f.path, sha256: f.sha256 })
    }
  }
}

function whereKept(kind: NameKind): string {
  return kind === 'identity'
    ? "an identity is written into the layer's annotations, in every image"
    : 'a fingerprint is kept in the local record of layers'
}

/** What counts as a secret here, and how a message names it (never by its value). */
function secretValues(ctx: ComponentContext): { value: string; from: string }[] {
  const out: { value: string; from: string }[] = []
  for (const [name, value] of Object.entries(ctx.env)) {
    if (value === undefined || value.length < 8 || /\s/.test(value)) continue
    if (SECRET_NAME.test(name) || TOKEN_SHAPE.test(value)) out.push({ value, from: `the value of \`${name}\` from the context's env` })
  }
  for (const value of (ctx as Partial<TestContext>).secrets ?? [])
    if (value.length >= 4) out.push({ value, from: 'a secret the source registered with ctx.secret()' })
  return out
}
