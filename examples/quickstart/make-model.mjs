// Writes model/model.safetensors: a 2-2-1 sigmoid MLP whose weights compute XOR, in the
// safetensors format (8-byte little-endian header length, JSON header, raw little-endian F32).
// Run `node make-model.mjs` to regenerate it; the output is byte-identical every time.
import { writeFileSync } from 'node:fs'

const tensors = {
  'fc1.weight': { shape: [2, 2], data: [20, 20, 20, 20] }, // hidden 0 = OR, hidden 1 = AND
  'fc1.bias': { shape: [2], data: [-10, -30] },
  'fc2.weight': { shape: [1, 2], data: [20, -20] }, // OR and not AND = XOR
  'fc2.bias': { shape: [1], data: [-10] },
}

const header = { __metadata__: { format: 'pt', task: 'xor' } }
const parts = []
let offset = 0
for (const [name, t] of Object.entries(tensors)) {
  const bytes = Buffer.from(new Float32Array(t.data).buffer)
  header[name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + bytes.length] }
  parts.push(bytes)
  offset += bytes.length
}
let json = JSON.stringify(header)
json += ' '.repeat((8 - (json.length % 8)) % 8) // the data section starts 8-byte aligned
const len = Buffer.alloc(8)
len.writeBigUInt64LE(BigInt(json.length))
writeFileSync(new URL('./model/model.safetensors', import.meta.url), Buffer.concat([len, Buffer.from(json), ...parts]))
