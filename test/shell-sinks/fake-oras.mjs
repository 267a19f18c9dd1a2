// A stand-in for the oras CLI 1.x, which has no Debian package. It accepts `oras version` and
// `oras cp` with only the flags oras documents for copying from a layout to a registry
// (cmd/oras/root/cp.go and option/remote.go, oras 1.3), refuses anything else as oras does
// ("unknown flag"), checks the source layout is complete, and does the copy with skopeo so the
// image really reaches the registry. Every call is appended to $FAKE_ORAS_LOG.
import { execFileSync } from 'node:child_process'
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const args = process.argv.slice(2)
if (process.env.FAKE_ORAS_LOG) appendFileSync(process.env.FAKE_ORAS_LOG, JSON.stringify(args) + '\n')
const fail = (message) => {
  process.stderr.write(`Error: ${message}\n`)
  process.exit(1)
}

if (args[0] === 'version') {
  process.stdout.write('Version:        1.3.0\nGo version:     go1.24\n')
  process.exit(0)
}
if (args[0] !== 'cp') fail(`unknown command "${args[0]}" for "oras"`)

const BOOLEAN = new Set(['--from-oci-layout', '--to-plain-http', '--to-insecure', '-r', '--recursive', '--force'])
const VALUED = new Set([
  '--concurrency',
  '--to-registry-config',
  '--to-ca-file',
  '--to-cert-file',
  '--to-key-file',
  '--platform',
  '--to-header',
  '-H',
])
const flags = new Map()
const positional = []
for (let i = 1; i < args.length; i++) {
  const a = args[i]
  if (BOOLEAN.has(a)) flags.set(a, true)
  else if (VALUED.has(a)) {
    if (i + 1 >= args.length) fail(`flag needs an argument: ${a}`)
    flags.set(a, args[++i])
  } else if (a.startsWith('-')) fail(`unknown flag: ${a}`)
  else positional.push(a)
}
if (positional.length !== 2) fail(`accepts 2 arg(s), received ${positional.length}`)
if (flags.has('--concurrency') && !/^\d+$/.test(flags.get('--concurrency'))) fail('invalid argument for "--concurrency" flag')

const [from, to] = positional
if (!flags.has('--from-oci-layout')) fail('this stand-in only copies from an OCI layout')
const colon = from.lastIndexOf(':')
const [layout, tag] = [from.slice(0, colon), from.slice(colon + 1)]
if (!existsSync(join(layout, 'oci-layout')) || !existsSync(join(layout, 'index.json'))) fail(`${layout}: not an OCI image layout`)
const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8'))
if (!index.manifests.some((m) => m.annotations?.['org.opencontainers.image.ref.name'] === tag)) fail(`${from}: not found`)

const [repo, ...tags] = to.split(',')
const scratch = mkdtempSync(join(tmpdir(), 'fake-oras-'))
try {
  const digestFile = join(scratch, 'digest')
  const tls = flags.has('--to-plain-http') || flags.has('--to-insecure') ? ['--dest-tls-verify=false'] : []
  const auth = flags.has('--to-registry-config') ? ['--dest-authfile', flags.get('--to-registry-config')] : []
  for (const dest of [repo, ...tags.map((t) => repo.replace(/:[^:/]+$/, `:${t}`))]) {
    execFileSync(
      'skopeo',
      [
        'copy',
        '--quiet',
        '--preserve-digests',
        '--multi-arch',
        'all',
        '--digestfile',
        digestFile,
        ...tls,
        ...auth,
        `oci:${layout}:${tag}`,
        `docker://${dest}`,
      ],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    )
  }
  process.stdout.write(`Copied [oci-layout] ${from} => [registry] ${to}\nDigest: ${readFileSync(digestFile, 'utf8').trim()}\n`)
} finally {
  rmSync(scratch, { recursive: true, force: true })
}
