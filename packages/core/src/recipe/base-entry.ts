// The recipe's `base`: the short form `TYPE:TEXT` (`registry:quay.io/org/busybox:1.36`,
// `oci-layout:./download:latest`, `scratch`), which the base component turns into its config, or
// a mapping with `type:` like any other component entry.
import type { BaseComponent } from '../contract/component.js'
import type { ComponentRegistry } from '../contract/registry.js'
import { checkConfig, checkEntry, findComponent, type ComponentEntry, type EntryContext } from './component-entries.js'

/** npm's package-name rule, which every base type follows (`registry`, `@acme/modelcar-base-x`). */
const TYPE_RE = /^(@[a-z0-9-~][a-z0-9-._~]*\/)?[a-z0-9-~][a-z0-9-._~]*$/

export async function checkBase(raw: unknown, c: EntryContext): Promise<{ entry: ComponentEntry<'base'> | undefined; text: string }> {
  const here = ['base']
  if (raw !== null && typeof raw === 'object' && !Array.isArray(raw)) {
    const entry = await checkEntry('base', raw, here, c)
    return { entry, text: `${String((raw as { type?: unknown }).type)} (a mapping)` }
  }
  // Anything but a string or a mapping: the recipe schema says so.
  if (typeof raw !== 'string') return { entry: undefined, text: String(raw) }
  const colon = raw.indexOf(':')
  const type = colon < 0 ? raw : raw.slice(0, colon)
  const text = colon < 0 ? '' : raw.slice(colon + 1)
  const unknown = { message: `base ${c.problems.show(here, raw)} is not a base image reference`, hint: baseHint(raw, c.registry) }
  if (!TYPE_RE.test(type)) {
    c.problems.at(here, unknown.message, unknown.hint)
    return { entry: undefined, text: raw }
  }
  const found = await findComponent('base', type, here, c, unknown)
  if (!found) return { entry: undefined, text: raw }
  const config = (found.component as BaseComponent).fromText(text)
  if (typeof config.problem === 'string') {
    const { problem, hint } = config as { problem: string; hint?: string }
    c.problems.at(here, `base ${c.problems.show(here, raw)}: ${problem}`, hint)
    return { entry: undefined, text: raw }
  }
  return { entry: checkConfig('base', type, found, config as Record<string, unknown>, here, c), text: raw }
}

/** The forms the registered bases take, and the right one for another tool's spelling. */
export function baseHint(text: string, registry: ComponentRegistry): string {
  const forms = registry.list('base').map((b) => `\`${b.shortForm}\``)
  const hint = `write ${forms.length > 1 ? `${forms.slice(0, -1).join(', ')} or ${forms[forms.length - 1]}` : forms[0]}`
  // Other tools' transport names (skopeo's `docker://`, `oci:`) are the likeliest slip.
  const m = /^(docker:\/\/|oci:|oci-archive:)(.+)$/.exec(text)
  const ours = m && (m[1] === 'docker://' ? 'registry' : 'oci-layout')
  if (!m || !registry.get('base', ours!)) return hint
  return `${hint}; for \`${text}\` that is \`${ours}:${m[2]}\``
}
