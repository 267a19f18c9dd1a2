#!/usr/bin/env node
// Makes sure the Debian tools the real-tool tests use are installed, and caches a static busybox
// for each fixture architecture under tools/fixtures/cache/<arch>/. Runs before every `npm test`,
// so the everything-present path only looks at files and never spawns a process.

import { spawnSync } from 'node:child_process'
import {
  accessSync,
  chmodSync,
  closeSync,
  constants,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readSync,
  readdirSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs'
import { delimiter, dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
export const cacheDir = join(here, '..', 'fixtures', 'cache')

/** Binaries the tests run, and the Debian package that ships each. */
const TOOLS = [
  { bin: 'skopeo', pkg: 'skopeo' },
  { bin: 'umoci', pkg: 'umoci' },
  { bin: 'podman', pkg: 'podman' },
  { bin: 'runc', pkg: 'runc' },
  { bin: 'docker-registry', pkg: 'docker-registry' },
  { bin: 'htpasswd', pkg: 'apache2-utils' },
  // Tests read layers with a second tar reader besides GNU tar: Python's tarfile.
  { bin: 'python3', pkg: 'python3' },
  // The token server (tools/token-server) makes its RSA key and certificate with the openssl CLI.
  { bin: 'openssl', pkg: 'openssl' },
]

/** Where busybox-static installs its binary; the Debian `busybox` package installs a dynamic one there too. */
const HOST_BUSYBOX = '/bin/busybox'

/** Fixture architectures (Debian names) and their ELF e_machine values. */
const ARCHES = { amd64: 62, arm64: 183 }
const hostArch = { x64: 'amd64', arm64: 'arm64' }[process.arch]

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0

function main() {
  const missingPkgs = TOOLS.filter((t) => !onPath(t.bin)).map((t) => t.pkg)
  if (!isStaticElf(HOST_BUSYBOX, hostArch && ARCHES[hostArch])) missingPkgs.push('busybox-static')
  const missingArches = Object.keys(ARCHES).filter((a) => !isStaticElf(cachedBusybox(a), ARCHES[a]) || isStaleHostCopy(a))

  if (missingPkgs.length === 0 && missingArches.length === 0) {
    console.log(`provision: ok (${TOOLS.map((t) => t.bin).join(', ')}, busybox ${Object.keys(ARCHES).join('+')})`)
    return 0
  }
  if (!hostArch) return fail(`provision: unsupported host architecture ${process.arch}; the fixtures need amd64 or arm64.`)

  // The host's own busybox comes from the installed package; the others are downloaded .debs.
  const foreignArches = missingArches.filter((a) => a !== hostArch)

  if (!isRoot) {
    // Downloading a .deb needs no root when apt already knows the architecture.
    const stillMissing = foreignArches.filter((a) => !tryDownloadBusybox(a).ok)
    if (missingPkgs.length > 0 || stillMissing.length > 0) return fail(nonRootMessage(missingPkgs, stillMissing))
  } else {
    for (const arch of foreignArches) addArchitecture(arch)
    const needsLists = missingPkgs.length > 0 || foreignArches.length > 0
    const updateFailure = needsLists ? aptUpdate(foreignArches) : '' // once, for the install and the downloads
    if (missingPkgs.length > 0) aptInstall(missingPkgs)
    for (const arch of foreignArches) {
      const result = tryDownloadBusybox(arch)
      if (!result.ok) {
        return fail(
          `provision: could not download busybox-static:${arch}, the ${arch} platform of the multi-arch fixtures.\n` +
            `  ${result.error}\n` +
            (updateFailure
              ? `  It needs the ${arch} package lists, and ${updateFailure}\n` +
                `  If a source does not serve binary-${arch}, restrict it to ${hostArch}: "Architectures: ${hostArch}" ` +
                `(deb822 .sources) or "deb [arch=${hostArch}] ..." (.list).\n`
              : '') +
            `  Check: apt-cache policy busybox-static:${arch}`,
        )
      }
    }
    if (updateFailure) console.error(`provision: warning: ${updateFailure}`)
  }

  if (missingArches.includes(hostArch)) {
    if (!isStaticElf(HOST_BUSYBOX, ARCHES[hostArch])) {
      return fail(`provision: ${HOST_BUSYBOX} is missing or not a static ${hostArch} binary after installing busybox-static.`)
    }
    installInto(hostArch, (dir) => {
      mkdirSync(join(dir, 'bin'))
      copyFileSync(HOST_BUSYBOX, join(dir, 'bin', 'busybox'))
    })
  }

  const stillMissing = TOOLS.filter((t) => !onPath(t.bin))
  if (stillMissing.length) {
    return fail(`provision: after apt-get install, still not on PATH: ${stillMissing.map((t) => `${t.bin} (${t.pkg})`).join(', ')}`)
  }
  for (const arch of Object.keys(ARCHES)) {
    if (!isStaticElf(cachedBusybox(arch), ARCHES[arch])) {
      return fail(`provision: ${cachedBusybox(arch)} is not a static ${arch} busybox after provisioning.`)
    }
  }
  console.log(`provision: done (${[...missingPkgs, ...missingArches.map((a) => `busybox ${a}`)].join(', ')})`)
  return 0
}

export function cachedBusybox(arch) {
  return join(cacheDir, arch, 'bin', 'busybox')
}

/** The host's copy follows the installed package: a busybox-static upgrade refreshes it. */
function isStaleHostCopy(arch) {
  if (arch !== hostArch) return false
  const host = statSync(HOST_BUSYBOX, { throwIfNoEntry: false })
  return host !== undefined && host.size !== statSync(cachedBusybox(arch)).size
}

function onPath(bin) {
  // runc lives in /usr/sbin, which is not on a regular user's PATH.
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/sbin']
  return dirs.some((dir) => {
    if (!dir) return false
    try {
      accessSync(join(dir, bin), constants.X_OK)
      return true
    } catch {
      return false
    }
  })
}

/** True when `file` is an ELF executable for `machine` without a program interpreter (statically linked). */
function isStaticElf(file, machine) {
  let fd
  try {
    fd = openSync(file, 'r')
    const head = Buffer.alloc(64)
    if (readSync(fd, head, 0, 64, 0) < 64) return false
    if (head.readUInt32BE(0) !== 0x7f454c46 || head[4] !== 2 || head[5] !== 1) return false // 64-bit little-endian ELF
    if (head.readUInt16LE(18) !== machine) return false
    const phoff = Number(head.readBigUInt64LE(32))
    const phentsize = head.readUInt16LE(54)
    const phnum = head.readUInt16LE(56)
    const table = Buffer.alloc(phentsize * phnum)
    readSync(fd, table, 0, table.length, phoff)
    for (let i = 0; i < phnum; i++) {
      if (table.readUInt32LE(i * phentsize) === 3) return false // PT_INTERP: dynamically linked
    }
    return true
  } catch {
    return false
  } finally {
    if (fd !== undefined) closeSync(fd)
  }
}

/** Fills a fresh folder and renames it to cache/<arch>, so an interrupted run leaves no half-filled cache. */
function installInto(arch, fill) {
  mkdirSync(cacheDir, { recursive: true })
  const tmp = mkdtempSync(join(cacheDir, `.tmp-${arch}-`))
  try {
    fill(tmp)
    chmodSync(tmp, 0o755) // mkdtemp made it 0700
    rmSync(join(cacheDir, arch), { recursive: true, force: true })
    renameSync(tmp, join(cacheDir, arch))
  } finally {
    rmSync(tmp, { recursive: true, force: true })
  }
}

function tryDownloadBusybox(arch) {
  let result
  mkdirSync(cacheDir, { recursive: true })
  const work = mkdtempSync(join(cacheDir, `.download-${arch}-`))
  try {
    const dl = exec('apt-get', ['download', `busybox-static:${arch}`], { cwd: work })
    if (dl.status !== 0) return { ok: false, error: `apt-get download failed: ${lastLines(dl.stderr || dl.stdout)}` }
    const deb = readdirSync(work).find((f) => f.endsWith('.deb'))
    if (!deb) return { ok: false, error: 'apt-get download wrote no .deb file' }
    installInto(arch, (dir) => {
      const x = exec('dpkg-deb', ['-x', join(work, deb), dir])
      if (x.status !== 0) throw new Error(`dpkg-deb -x ${deb} failed: ${lastLines(x.stderr)}`)
      // busybox-static installs to /bin; a later Debian (merged /usr) may ship /usr/bin instead.
      if (!existsSync(join(dir, 'bin', 'busybox')) && existsSync(join(dir, 'usr', 'bin', 'busybox'))) {
        mkdirSync(join(dir, 'bin'), { recursive: true })
        copyFileSync(join(dir, 'usr', 'bin', 'busybox'), join(dir, 'bin', 'busybox'))
      }
    })
    result = isStaticElf(cachedBusybox(arch), ARCHES[arch])
      ? { ok: true }
      : { ok: false, error: `${deb} holds no static ${arch} bin/busybox` }
  } catch (err) {
    result = { ok: false, error: err.message }
  } finally {
    rmSync(work, { recursive: true, force: true })
  }
  return result
}

function addArchitecture(arch) {
  const known = exec('dpkg', ['--print-foreign-architectures'])
  if (known.status === 0 && known.stdout.split('\n').includes(arch)) return
  step(`dpkg --add-architecture ${arch}`)
  const r = exec('dpkg', ['--add-architecture', arch])
  if (r.status !== 0) die(`provision: dpkg --add-architecture ${arch} failed: ${lastLines(r.stderr)}`)
}

/**
 * Returns '' on success, else what failed. With a foreign architecture to download, a failure is
 * only fatal if the download then fails too: an unreachable unrelated source also fails the
 * update without harming the Debian lists the download needs.
 */
function aptUpdate(foreignArches) {
  step('apt-get update')
  const r = exec('apt-get', ['update'])
  if (r.status === 0) return ''
  // apt prints progress for every index; the errors are the lines that say why.
  const errors = `${r.stdout}\n${r.stderr}`.split('\n').filter((l) => /^(E|W|Err):/.test(l.trim()))
  const out = `apt-get update exited ${r.status}:\n${indent((errors.length ? errors.join('\n') : lastLines(r.stderr)).trim())}`
  if (foreignArches.length === 0) die(`provision: ${out}`)
  return out
}

function aptInstall(pkgs) {
  step(`apt-get install -y ${pkgs.join(' ')}`)
  const r = exec('apt-get', ['install', '-y', ...pkgs], {
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    inherit: true,
  })
  if (r.status !== 0) die(`provision: apt-get install ${pkgs.join(' ')} exited ${r.status}`)
}

function nonRootMessage(pkgs, arches) {
  const lines = ['provision: missing Debian packages for the real-tool tests (not root, so not installing them):']
  if (pkgs.length)
    lines.push(
      `  ${pkgs.join(' ')}`,
      `  Install: sudo apt-get update && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y ${pkgs.join(' ')}`,
    )
  for (const arch of arches) {
    lines.push(
      `  busybox-static:${arch} (downloaded, not installed, into ${join(cacheDir, arch)})`,
      `  Enable it: sudo dpkg --add-architecture ${arch} && sudo apt-get update`,
      `  then run this script again (or run it as root: sudo node tools/provision/provision.mjs).`,
    )
  }
  return lines.join('\n')
}

function exec(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    encoding: 'utf8',
    stdio: opts.inherit ? ['ignore', 'inherit', 'inherit'] : ['ignore', 'pipe', 'pipe'],
    maxBuffer: 64 << 20,
  })
  if (r.error) {
    if (r.error.code === 'ENOENT') die(`provision: ${cmd} not found; this script needs a Debian system with apt and dpkg.`)
    throw r.error
  }
  return { status: r.status ?? 1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' }
}

function lastLines(text, n = 5) {
  return text.trim().split('\n').slice(-n).join('\n')
}

function indent(text) {
  return text
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n')
}

function step(what) {
  console.log(`provision: ${what}`)
}

class ProvisionError extends Error {}

function die(message) {
  throw new ProvisionError(message)
}

function fail(message) {
  console.error(message)
  return 1
}

// Importable (for cacheDir and cachedBusybox) without running.
if (process.argv[1] && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url))) {
  try {
    process.exitCode = main()
  } catch (err) {
    if (!(err instanceof ProvisionError)) throw err
    console.error(err.message)
    process.exitCode = 1
  }
}
