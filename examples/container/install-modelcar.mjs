#!/usr/bin/env node
// Installs the modelcar CLI as the image ships it: `npm pack` of @modelcar/cli and every
// @modelcar package it needs, from this repository's built packages, then `npm install` of those
// tarballs into a folder of its own (no link back to the repository, no dev dependencies). The
// recipe beside this script puts that folder under /opt/modelcar in the image.
//
//   npm run build && node examples/container/install-modelcar.mjs [--out DIR]   (default: examples/container/out)
//
// Writes DIR/tarballs/*.tgz and DIR/app/{package.json,node_modules/…}; the CLI is then
// DIR/app/node_modules/@modelcar/cli/bin/modelcar.js.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

const here = dirname(fileURLToPath(import.meta.url))
const repo = resolve(here, '..', '..')

/** The workspace's packages by name: `@modelcar/core` → packages/core. */
function workspacePackages() {
  const out = new Map()
  for (const dir of readdirSync(join(repo, 'packages'))) {
    const file = join(repo, 'packages', dir, 'package.json')
    if (existsSync(file)) out.set(JSON.parse(readFileSync(file, 'utf8')).name, join(repo, 'packages', dir))
  }
  return out
}

/** @modelcar/cli and every workspace package it needs, through dependencies and peers. */
function packagesOfTheCli(workspace) {
  const needed = new Set()
  const visit = (name) => {
    if (needed.has(name) || !workspace.has(name)) return
    needed.add(name)
    const pkg = JSON.parse(readFileSync(join(workspace.get(name), 'package.json'), 'utf8'))
    for (const dep of Object.keys({ ...pkg.dependencies, ...pkg.peerDependencies })) visit(dep)
  }
  visit('@modelcar/cli')
  return [...needed].map((name) => workspace.get(name))
}

function npm(args, cwd) {
  const r = spawnSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
  if (r.status !== 0) throw new Error(`npm ${args.join(' ')} failed (exit ${r.status}):\n${r.stderr.trim()}`)
  return r.stdout
}

export function installModelcar(out) {
  const dirs = packagesOfTheCli(workspacePackages())
  for (const dir of dirs)
    if (!existsSync(join(dir, 'dist', 'index.js'))) throw new Error(`${dir}/dist is missing: build first with \`npm run build\` in ${repo}`)
  const tarballs = join(out, 'tarballs')
  const app = join(out, 'app')
  rmSync(out, { recursive: true, force: true })
  mkdirSync(tarballs, { recursive: true })
  mkdirSync(app)
  // --ignore-scripts: pack what `npm run build` built, without prepack's clean rebuild of dist/
  // under the feet of anything else using this checkout.
  const packed = JSON.parse(
    npm(['pack', '--json', '--ignore-scripts', '--pack-destination', tarballs, ...dirs.flatMap((d) => ['--workspace', d])], repo),
  )
  writeFileSync(
    join(app, 'package.json'),
    JSON.stringify({ name: 'modelcar-image', private: true, description: 'modelcar, as its container image holds it' }, null, 2) + '\n',
  )
  // Outside the workspace (its own package.json), so npm resolves nothing back into the repository.
  npm(
    [
      'install',
      '--omit=dev',
      '--ignore-scripts',
      '--no-audit',
      '--no-fund',
      '--prefer-offline',
      ...packed.map((p) => join(tarballs, p.filename.replace(/^@/, '').replace(/\//, '-'))),
    ],
    app,
  )
  const bin = join(app, 'node_modules', '@modelcar', 'cli', 'bin', 'modelcar.js')
  if (!existsSync(bin)) throw new Error(`the install has no ${bin}`)
  return { app, bin, packages: packed.map((p) => `${p.name}@${p.version}`) }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { out: { type: 'string' } } })
  const out = resolve(values.out ?? join(here, 'out'))
  const { app, packages } = installModelcar(out)
  console.log(`installed ${packages.join(', ')} into ${app}`)
}
