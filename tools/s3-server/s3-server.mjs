// s3rver, the S3 server the tests and the benchmark use, started in a process of its own under
// `node --openssl-legacy-provider`: s3rver makes listing continuation tokens with DES, which
// OpenSSL 3 only offers through the legacy provider (without it every second page is a 500).
import { spawn } from 'node:child_process'
import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { S3Client, PutObjectCommand } from '@aws-sdk/client-s3'

const require = createRequire(import.meta.url)

const CHILD = `
const S3rver = require(process.argv[1])
const [directory, buckets] = [process.argv[2], JSON.parse(process.argv[3])]
const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory, configureBuckets: buckets.map((name) => ({ name, configs: [] })) })
server.run().then(({ port }) => console.log('PORT ' + port), (err) => { console.error(err); process.exit(1) })
process.stdin.on('end', () => server.close().then(() => process.exit(0)))
process.stdin.resume()
`

export async function startS3Server(opts) {
  const child = spawn(
    process.execPath,
    ['--openssl-legacy-provider', '-e', CHILD, require.resolve('s3rver'), opts.directory, JSON.stringify(opts.buckets ?? [])],
    {
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  )
  let stderr = ''
  child.stderr.on('data', (d) => (stderr += d))
  const port = await new Promise((resolve, reject) => {
    let out = ''
    child.stdout.on('data', (d) => {
      out += d
      const m = /PORT (\d+)/.exec(out)
      if (m) resolve(Number(m[1]))
    })
    child.once('exit', (code) => reject(new Error(`s3rver exited ${code} before listening\n${stderr}`)))
  })
  const url = `http://127.0.0.1:${port}`
  return {
    url,
    port,
    async stop() {
      if (child.exitCode !== null) return
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.stdin.end()
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
      await exited
      clearTimeout(timer)
    },
  }
}

/**
 * A client for seeding s3rver. `WHEN_REQUIRED`: under the SDK default a streamed PUT is sent
 * aws-chunked, which s3rver stores with the chunk framing inside the object.
 */
export function seedClient(url) {
  return new S3Client({
    endpoint: url,
    forcePathStyle: true,
    region: 'us-east-1',
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  })
}

/** Puts objects: bytes, text, or `{ file }` streamed from disk (sparse files welcome). */
export async function putObjects(client, bucket, objects, opts = {}) {
  const entries = Object.entries(objects)
  let next = 0
  const worker = async () => {
    while (next < entries.length) {
      const [key, content] = entries[next++]
      let Body = content
      let ContentLength
      if (content && typeof content === 'object' && 'file' in content) {
        ContentLength = (await stat(content.file)).size
        Body = createReadStream(content.file, { highWaterMark: 1 << 20 })
      }
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body, ContentLength, Metadata: opts.metadata?.[key] }))
    }
  }
  await Promise.all(Array.from({ length: Math.min(opts.concurrency ?? 8, entries.length || 1) }, worker))
}
