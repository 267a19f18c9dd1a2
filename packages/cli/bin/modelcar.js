#!/usr/bin/env node
// Thin launcher: the CLI is compiled to dist/ by the workspace's `prepare` (npm ci) or `npm run build`.
import('../dist/main.js').then((m) => m.main(process.argv.slice(2))).then(
  (code) => { process.exitCode = code },
  (err) => { console.error(err); process.exitCode = 1 },
)
