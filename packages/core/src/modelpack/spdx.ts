// Licences as SPDX expressions, from the identifiers Hugging Face model cards use (`apache-2.0`,
// `llama3.1`, `other` with a `license_name`): a known one becomes its SPDX id, any other a
// `LicenseRef-…` of its own, which SPDX allows for licences outside its list.

/** Hugging Face licence identifiers whose SPDX id is certain, lower case → SPDX. */
const SPDX_OF: Readonly<Record<string, string>> = Object.fromEntries(
  [
    'Apache-2.0',
    'MIT',
    'AFL-3.0',
    'Artistic-2.0',
    'BSL-1.0',
    'BSD-2-Clause',
    'BSD-3-Clause',
    'BSD-3-Clause-Clear',
    'CC0-1.0',
    'CC-BY-2.0',
    'CC-BY-2.5',
    'CC-BY-3.0',
    'CC-BY-4.0',
    'CC-BY-SA-3.0',
    'CC-BY-SA-4.0',
    'CC-BY-NC-2.0',
    'CC-BY-NC-3.0',
    'CC-BY-NC-4.0',
    'CC-BY-ND-4.0',
    'CC-BY-NC-ND-3.0',
    'CC-BY-NC-ND-4.0',
    'CC-BY-NC-SA-2.0',
    'CC-BY-NC-SA-3.0',
    'CC-BY-NC-SA-4.0',
    'CDLA-Sharing-1.0',
    'CDLA-Permissive-1.0',
    'CDLA-Permissive-2.0',
    'WTFPL',
    'ECL-2.0',
    'EPL-1.0',
    'EPL-2.0',
    'EUPL-1.1',
    'EUPL-1.2',
    'ISC',
    'LPPL-1.3c',
    'MS-PL',
    'MPL-2.0',
    'OSL-3.0',
    'PostgreSQL',
    'OFL-1.1',
    'NCSA',
    'Unlicense',
    'Zlib',
    'BigScience-OpenRAIL-M',
    'BigScience-BLOOM-RAIL-1.0',
    'CreativeML-OpenRAIL-M',
  ].map((id) => [id.toLowerCase(), id]),
)

/** Hugging Face names that differ from the SPDX id (GNU licences without `-only`/`-or-later` are read as `-only`). */
const RENAMED: Readonly<Record<string, string>> = {
  'gpl-2.0': 'GPL-2.0-only',
  'gpl-3.0': 'GPL-3.0-only',
  'lgpl-2.1': 'LGPL-2.1-only',
  'lgpl-3.0': 'LGPL-3.0-only',
  'agpl-3.0': 'AGPL-3.0-only',
  'odc-by': 'ODC-By-1.0',
  odbl: 'ODbL-1.0',
  pddl: 'PDDL-1.0',
}

/**
 * The SPDX expression for one licence identifier of a model card; `name` is the card's
 * `license_name` (what `other` stands for). Undefined for `unknown` or nothing.
 */
export function spdxLicense(id: string, name?: string): string | undefined {
  const key = id.trim().toLowerCase()
  if (!key || key === 'unknown') return undefined
  if (key === 'other') return name?.trim() ? licenseRef(name) : undefined
  return SPDX_OF[key] ?? RENAMED[key] ?? licenseRef(id)
}

/** `LicenseRef-<id>`: SPDX allows letters, digits, `.` and `-` after the prefix. */
function licenseRef(id: string): string {
  return `LicenseRef-${id.trim().replace(/[^A-Za-z0-9.-]+/g, '-')}`
}
