// The members of a tar archive, in order, from any input that can read and skip: random access
// into a blob (a listing reads the headers and jumps over the files) or a stream (a read passes
// over every byte). PAX records (path, linkpath, size) and GNU long names apply to the member
// that follows them; a member's data is skipped unless the caller reads it before asking for the
// next member.
import { ociErrors } from '../errors/oci-errors.js'
import { BLOCK, decodeHeader, isZeroBlock, paddedSize, parsePaxRecords, type RawHeader } from './tar-header.js'

export interface TarInput {
  /** Offset of the next byte in the tar archive. */
  readonly position: number
  /** Up to `n` bytes (fewer only at the end). */
  read(n: number): Promise<Uint8Array>
  /** Moves `n` bytes on (fewer at the end). */
  skip(n: number): Promise<void>
}

export type EntryType = 'file' | 'dir' | 'hardlink' | 'symlink' | 'other'

export interface TarEntry {
  /** The member's name as the archive gives it (PAX path, GNU long name, ustar prefix applied). */
  name: string
  type: EntryType
  /** The raw type flag, for messages (`S` sparse, `3` character device, …). */
  typeflag: string
  mode: number
  /** Bytes of data (0 for links, folders and devices, whatever their header says). */
  size: number
  linkname: string
  /** Offset of the member's data in the archive. */
  dataOffset: number
}

/** Largest PAX header or GNU long name taken: a name is never this long, a damaged header may claim anything. */
const MAX_META_BYTES = 1 << 20

interface Pending {
  pax?: Map<string, string>
  longName?: string
  longLink?: string
}

export async function* tarEntries(input: TarInput, layer: string): AsyncGenerator<TarEntry> {
  let pending: Pending = {}
  const global = new Map<string, string>()
  for (;;) {
    const block = await input.read(BLOCK)
    // Some writers end without the two zero blocks; a member cut short is caught below.
    if (block.byteLength === 0 || isZeroBlock(block)) return
    const h = decodeHeader(block)
    if (typeof h === 'string') throw ociErrors.tarInvalid(layer, h)
    const dataOffset = input.position
    const meta = await readMeta(input, h, layer)
    if (meta === 'sparse' || meta === 'multi-volume')
      throw ociErrors.tarInvalid(layer, `\`${pending.longName ?? h.name}\` is a GNU ${meta} member`)
    if (meta !== undefined) {
      if (!('records' in meta)) pending[meta.kind] = meta.text
      else if (meta.kind === 'global') for (const [k, v] of meta.records) global.set(k, v)
      else pending.pax = meta.records
      continue
    }
    const entry = resolveEntry(h, pending, global, dataOffset, layer)
    pending = {}
    yield entry
    const next = dataOffset + paddedSize(entry.size)
    if (input.position > next) throw new Error(`tar reader: read past the member \`${entry.name}\``)
    await input.skip(next - input.position)
    // A member cut short is a damaged archive (a missing last padding is let go, as Go's reader does).
    if (input.position < dataOffset + entry.size) throw ociErrors.tarInvalid(layer, `it ends inside \`${entry.name}\``)
  }
}

const META_KINDS: Readonly<Record<string, 'pax' | 'global' | 'longName' | 'longLink'>> = {
  x: 'pax',
  g: 'global',
  L: 'longName',
  K: 'longLink',
}

type Meta =
  | { kind: 'pax' | 'global'; records: Map<string, string> }
  | { kind: 'longName' | 'longLink'; text: string }
  | 'sparse'
  | 'multi-volume'
  | undefined

/** The metadata member's content (PAX records, a GNU long name); undefined for a member that is a file, folder or link. */
async function readMeta(input: TarInput, h: RawHeader, layer: string): Promise<Meta> {
  const kind = META_KINDS[h.typeflag]
  if (h.typeflag === 'S') return 'sparse'
  if (h.typeflag === 'M') return 'multi-volume'
  if (h.typeflag === 'V') {
    // A GNU volume label names the archive, not a file: read like a metadata member that says nothing.
    await input.skip(paddedSize(h.size))
    return { kind: 'global', records: new Map() }
  }
  if (!kind) return undefined
  if (h.size > MAX_META_BYTES) throw ociErrors.tarInvalid(layer, `a ${kind} header claims ${h.size} bytes`)
  const data = await input.read(h.size)
  if (data.byteLength < h.size) throw ociErrors.tarInvalid(layer, 'the archive ends inside a header')
  await input.skip(paddedSize(h.size) - h.size)
  if (kind === 'longName' || kind === 'longLink') {
    const end = data.indexOf(0)
    return { kind, text: Buffer.from(end < 0 ? data : data.subarray(0, end)).toString('utf8') }
  }
  const records = parsePaxRecords(data)
  if (typeof records === 'string') throw ociErrors.tarInvalid(layer, records)
  if ([...records.keys()].some((k) => k.startsWith('GNU.sparse.'))) return 'sparse'
  return { kind, records }
}

const HEADER_ONLY = new Set(['1', '2', '3', '4', '5', '6'])

function resolveEntry(h: RawHeader, pending: Pending, global: Map<string, string>, dataOffset: number, layer: string): TarEntry {
  const pax = new Map([...global, ...(pending.pax ?? [])])
  const name = pax.get('path') ?? pending.longName ?? h.name
  const paxSize = pax.get('size')
  const size = paxSize === undefined ? h.size : Number(paxSize)
  if (!Number.isSafeInteger(size) || size < 0) throw ociErrors.tarInvalid(layer, `\`${name}\` has the size \`${paxSize}\``)
  const type: EntryType =
    h.typeflag === '5' || (h.typeflag === '0' && name.endsWith('/'))
      ? 'dir'
      : h.typeflag === '0' || h.typeflag === '7'
        ? 'file'
        : h.typeflag === '1'
          ? 'hardlink'
          : h.typeflag === '2'
            ? 'symlink'
            : 'other'
  return {
    name,
    type,
    typeflag: h.typeflag,
    mode: h.mode & 0o7777,
    size: HEADER_ONLY.has(h.typeflag) || type === 'dir' ? 0 : size,
    linkname: pax.get('linkpath') ?? pending.longLink ?? h.linkname,
    dataOffset,
  }
}
