#!/usr/bin/env node
// `npm test`: provisions the Debian tools, then runs the whole suite through nx on the oldest and
// the newest Node.js line in support (each binary from the npm registry, first on PATH, so every
// process of the suite runs on it): lint and type check once, every package's unit tests and the
// end-to-end tests on each line. Stops at the first line that fails.
import { spawnSync } from 'node:child_process'
import { delimiter, dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { nodeBinary, NODE_LINES, SUITE_LINES } from './node-lines.mjs'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')

function run(command, args, env) {
  const r = spawnSync(command, args, { cwd: root, stdio: 'inherit', env })
  if (r.error) throw r.error
  return r.status ?? 1
}

let status = run(process.execPath, [join(root, 'tools', 'provision', 'provision.mjs')], process.env)
for (const [i, line] of SUITE_LINES.entries()) {
  if (status !== 0) break
  const bin = nodeBinary(line)
  console.log(`\n== Node.js ${NODE_LINES[line]} (${bin})\n`)
  // nx keys its cache by `node --version` (nx.json), so a line never reuses another's test results.
  const env = { ...process.env, PATH: `${dirname(bin)}${delimiter}${process.env.PATH ?? ''}`, NX_DAEMON: 'false', NX_NO_CLOUD: 'true' }
  const targets = i === 0 ? ['lint', 'typecheck', 'test'] : ['test']
  status = run(bin, [join(root, 'node_modules', 'nx', 'dist', 'bin', 'nx.js'), 'run-many', '-t', ...targets, '--output-style=stream'], env)
}
process.exit(status)
