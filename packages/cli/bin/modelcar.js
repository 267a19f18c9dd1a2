#!/usr/bin/env node
// Thin launcher: the CLI is compiled to dist/ by the workspace's `prepare` (npm ci) or `npm run build`.
// Output piped into a reader that stops early (`modelcar schema | head`) ends the run quietly, as
// other command-line tools do, instead of an unhandled EPIPE.
import v8 from 'node:v8'
import vm from 'node:vm'

for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0)
    throw err
  })
}

// This process is modelcar's own: let the engine collect the buffers it has streamed through
// (V8 would let tens of MB of them pile up as garbage; see core's streams/external-memory.ts).
v8.setFlagsFromString('--expose-gc')
const gc = vm.runInNewContext('gc')

import('@modelcar/core')
  .then((core) => core.collectExternalMemory(gc))
  .then(() => import('../dist/main.js'))
  .then((m) => m.main(process.argv.slice(2)))
  .then(
    (code) => {
      process.exitCode = code
    },
    (err) => {
      console.error(err)
      process.exitCode = 1
    },
  )
