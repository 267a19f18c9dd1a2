// Shared by the supply-chain tests: a registry read with plain HTTP GETs (no modelcar code), the
// checks done by tools nobody here wrote (openssl for signatures, sha256sum for file digests), and
// a model folder whose card names a licence.
import { createHash } from 'node:crypto'
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { mustRun, run } from '../../tools/harness/tools.js'

export const ACCEPT = ['application/vnd.oci.image.index.v1+json', 'application/vnd.oci.image.manifest.v1+json'].join(', ')

export interface Manifest {
  mediaType?: string
  artifactType?: string
  config: { mediaType: string; digest: string; size: number }
  layers: { mediaType: string; digest: string; size: number; annotations?: Record<string, string> }[]
  subject?: { mediaType: string; digest: string; size: number }
  manifests?: { mediaType: string; digest: string; size: number; artifactType?: string; annotations?: Record<string, string> }[]
  annotations?: Record<string, string>
}

/** Reads documents and blobs of one repository with GETs, checking each digest. */
export class RegistryReader {
  constructor(
    readonly url: string,
    readonly repository: string,
  ) {}

  async manifest(reference: string): Promise<{ bytes: Buffer; doc: Manifest; digest: string } | undefined> {
    const res = await fetch(`${this.url}/v2/${this.repository}/manifests/${reference}`, { headers: { accept: ACCEPT } })
    if (res.status === 404) return undefined
    if (!res.ok) throw new Error(`GET manifest ${reference}: ${res.status}`)
    const bytes = Buffer.from(await res.arrayBuffer())
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`
    if (reference.startsWith('sha256:') && digest !== reference) throw new Error(`manifest ${reference} has digest ${digest}`)
    return { bytes, doc: JSON.parse(bytes.toString('utf8')) as Manifest, digest }
  }

  async blob(digest: string): Promise<Buffer> {
    const res = await fetch(`${this.url}/v2/${this.repository}/blobs/${digest}`)
    if (!res.ok) throw new Error(`GET blob ${digest}: ${res.status}`)
    const bytes = Buffer.from(await res.arrayBuffer())
    const actual = `sha256:${createHash('sha256').update(bytes).digest('hex')}`
    if (actual !== digest) throw new Error(`blob ${digest} has digest ${actual}`)
    return bytes
  }

  async put(reference: string, bytes: Buffer, mediaType: string): Promise<void> {
    const res = await fetch(`${this.url}/v2/${this.repository}/manifests/${reference}`, {
      method: 'PUT',
      headers: { 'content-type': mediaType },
      body: bytes,
    })
    if (!res.ok) throw new Error(`PUT manifest ${reference}: ${res.status} ${await res.text()}`)
  }
}

/** `openssl dgst -sha256 -verify PUB -signature SIG PAYLOAD`: true when openssl says `Verified OK`. */
export async function opensslVerifies(dir: string, publicKeyPem: string, payload: Buffer, signatureBase64: string): Promise<boolean> {
  await mkdir(dir, { recursive: true })
  const pub = join(dir, 'key.pub')
  const sig = join(dir, 'payload.sig')
  const data = join(dir, 'payload')
  await writeFile(pub, publicKeyPem)
  await writeFile(sig, Buffer.from(signatureBase64, 'base64'))
  await writeFile(data, payload)
  const r = await run('openssl', ['dgst', '-sha256', '-verify', pub, '-signature', sig, data])
  return r.code === 0 && r.stdout.trim() === 'Verified OK'
}

/** Every file under `root` (relative path → sha256 hex), as `sha256sum` prints it. */
export async function sha256sums(root: string): Promise<Map<string, string>> {
  const files: string[] = []
  const walk = async (dir: string, rel: string) => {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name
      if (e.isDirectory()) await walk(join(dir, e.name), r)
      else files.push(r)
    }
  }
  await walk(root, '')
  const out = (await mustRun('sha256sum', ['--', ...files], { cwd: root })).stdout
  return new Map(
    out
      .trim()
      .split('\n')
      .map((line) => {
        const [hex, ...name] = line.split('  ')
        return [name.join('  '), hex!] as [string, string]
      }),
  )
}

/** A model whose card says `license: apache-2.0`, with weights, a config and a nested tokenizer file. */
export async function writeLicensedModel(root: string, weightsBytes = 2 << 20): Promise<void> {
  await mkdir(join(root, 'tokenizer'), { recursive: true })
  await writeFile(join(root, 'README.md'), '---\nlicense: apache-2.0\nlanguage: [en]\n---\n# tiny model\n\nFor the supply-chain tests.\n')
  await writeFile(join(root, 'model.safetensors'), Buffer.alloc(weightsBytes, 3))
  await writeFile(join(root, 'config.json'), '{"architectures":["TinyForCausalLM"]}\n')
  await writeFile(join(root, 'tokenizer', 'vocab.json'), '{"a":0,"b":1}\n')
}

/** Every file under `dir`, whole: for "is this secret anywhere in here" checks. */
export async function allBytes(dir: string): Promise<Buffer> {
  const parts: Buffer[] = []
  const walk = async (d: string) => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      if (e.isDirectory()) await walk(join(d, e.name))
      else if (e.isFile()) parts.push(await readFile(join(d, e.name)))
    }
  }
  await walk(dir)
  return Buffer.concat(parts)
}
