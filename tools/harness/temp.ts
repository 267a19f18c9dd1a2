// Fresh temporary folders for tests that use real tools; each test removes its own.
import { randomBytes } from 'node:crypto'
import { mkdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface TempDir {
  path: string
  /** Removes the folder and everything in it; safe to call twice. */
  cleanup(): Promise<void>
}

/**
 * Unlike mkdtemp's mixed-case suffix, the name is lowercase hex: podman names an image pulled
 * from `oci:PATH` after PATH, and an image name must be lowercase.
 */
export async function tempDir(prefix: string): Promise<TempDir> {
  for (;;) {
    const path = join(tmpdir(), `modelcar-${prefix}-${randomBytes(6).toString('hex')}`)
    try {
      await mkdir(path, { mode: 0o700 })
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') continue
      throw err
    }
    return { path, cleanup: () => rm(path, { recursive: true, force: true, maxRetries: 3 }) }
  }
}
