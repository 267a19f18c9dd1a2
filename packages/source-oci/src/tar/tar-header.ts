// One 512-byte tar header block read as POSIX ustar, GNU or PAX writers fill it: the name (with
// the ustar prefix), octal or base-256 numbers (sizes of 8 GiB and more), the type flag, and the
// checksum that tells a header from anything else. PAX records and GNU long names come as data
// of their own entries (tar-entries.ts applies them to the entry that follows).

export const BLOCK = 512

export interface RawHeader {
  name: string
  mode: number
  size: number
  typeflag: string
  linkname: string
}

/** The block is all zeros: the end of the archive. */
export function isZeroBlock(block: Uint8Array): boolean {
  for (let i = 0; i < BLOCK; i++) if (block[i] !== 0) return false
  return true
}

/** The header in `block`, or a string saying why it is none. */
export function decodeHeader(block: Uint8Array): RawHeader | string {
  if (block.byteLength < BLOCK) return 'the archive ends inside a header'
  const stored = readNumber(block, 148, 8)
  if (stored === undefined || !checksumMatches(block, stored)) return 'a header block has a wrong checksum'
  const magic = text(block, 257, 6)
  // POSIX ustar ("ustar\0" + "00") splits long names into prefix and name; GNU ("ustar  ") uses that space otherwise.
  const prefix = magic === 'ustar' && text(block, 263, 2) === '00' ? text(block, 345, 155) : ''
  const name = text(block, 0, 100)
  const size = readNumber(block, 124, 12)
  const mode = readNumber(block, 100, 8)
  if (size === undefined || mode === undefined) return `the header of \`${name}\` has an unreadable size or mode`
  const flag = block[156] ?? 0
  return {
    name: prefix ? `${prefix}/${name}` : name,
    mode,
    size,
    typeflag: flag === 0 ? '0' : String.fromCharCode(flag),
    linkname: text(block, 157, 100),
  }
}

/** A NUL-terminated UTF-8 field. */
function text(block: Uint8Array, offset: number, length: number): string {
  const field = block.subarray(offset, offset + length)
  const end = field.indexOf(0)
  return Buffer.from(end < 0 ? field : field.subarray(0, end)).toString('utf8')
}

/** An octal field, or GNU's base-256 (first byte 0x80) for values octal cannot hold; undefined when unreadable. */
export function readNumber(block: Uint8Array, offset: number, length: number): number | undefined {
  const field = block.subarray(offset, offset + length)
  if ((field[0]! & 0x80) !== 0) {
    if (field[0] === 0xff) return undefined // negative: no size or mode is
    let value = field[0]! & 0x7f
    for (let i = 1; i < field.length; i++) value = value * 256 + field[i]!
    return Number.isSafeInteger(value) ? value : undefined
  }
  const digits = Buffer.from(field).toString('latin1').replace(/\0.*$/s, '').trim()
  if (digits === '') return 0
  if (!/^[0-7]+$/.test(digits)) return undefined
  return parseInt(digits, 8)
}

/** The stored sum against the header's bytes with the checksum field as spaces (unsigned, and signed as old writers did). */
function checksumMatches(block: Uint8Array, stored: number): boolean {
  let unsigned = 0
  let signed = 0
  for (let i = 0; i < BLOCK; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : block[i]!
    unsigned += b
    signed += b > 127 ? b - 256 : b
  }
  return stored === unsigned || stored === signed
}

/** PAX extended header records, `LEN key=value\n` each (LEN counts the whole record). */
export function parsePaxRecords(data: Uint8Array): Map<string, string> | string {
  const records = new Map<string, string>()
  const buf = Buffer.from(data)
  let at = 0
  while (at < buf.length) {
    if (buf[at] === 0) break // padding some writers leave
    const space = buf.indexOf(0x20, at)
    const length = space > at ? Number(buf.toString('latin1', at, space)) : NaN
    if (!Number.isSafeInteger(length) || length <= 0 || at + length > buf.length || buf[at + length - 1] !== 0x0a)
      return 'a PAX header record is malformed'
    const record = buf.toString('utf8', space + 1, at + length - 1)
    const eq = record.indexOf('=')
    if (eq <= 0) return 'a PAX header record has no key'
    records.set(record.slice(0, eq), record.slice(eq + 1))
    at += length
  }
  return records
}

/** Blocks a member's data takes: its size rounded up to 512. */
export function paddedSize(size: number): number {
  return Math.ceil(size / BLOCK) * BLOCK
}
