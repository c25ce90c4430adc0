/**
 * A workflow run's artifacts, as actions/upload-artifact and
 * actions/download-artifact (v4 and later) keep them: one directory per name.
 */
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { UnsupportedError } from './types.js'

const ARTIFACT_NAME_FORBIDDEN = /["':<>|*?\r\n\\/]/

/** A workflow run's artifacts: one directory per name. Share one between calls made by one run. */
export class ArtifactStore {
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'workflow-artifacts-'))
  private readonly stored = new Map<string, string>()

  names(): string[] {
    return [...this.stored.keys()].sort()
  }

  /** The artifact's root directory (its files as uploaded, relative to it). */
  path(name: string): string | undefined {
    return this.stored.get(name)
  }

  /** Files of an artifact, relative to its root. */
  files(name: string): string[] {
    const root = this.stored.get(name)
    if (!root) return []
    return (fs.readdirSync(root, { recursive: true, encoding: 'utf8' }) as string[])
      .filter(f => fs.statSync(path.join(root, f)).isFile())
      .sort()
  }

  upload(name: string, root: string, files: string[]): void {
    if (ARTIFACT_NAME_FORBIDDEN.test(name) || name.trim() === '') {
      throw new Error(`The artifact name is not valid: ${name}`)
    }
    if (this.stored.has(name)) {
      // upload-artifact v4+: names are unique within a run (overwrite: false).
      throw new Error(
        `Failed to CreateArtifact: Received non-retryable error: Failed request: (409) Conflict: an artifact with this name already exists on the workflow run`
      )
    }
    const dir = path.join(this.dir, String(this.stored.size))
    for (const file of files) {
      const to = path.join(dir, path.relative(root, file))
      fs.mkdirSync(path.dirname(to), { recursive: true })
      fs.copyFileSync(file, to)
    }
    fs.mkdirSync(dir, { recursive: true })
    this.stored.set(name, dir)
  }

  download(name: string, into: string): void {
    const root = this.stored.get(name)
    if (!root) throw new Error(`Artifact '${name}' not found`)
    fs.mkdirSync(into, { recursive: true })
    fs.cpSync(root, into, { recursive: true })
  }
}

/** download-artifact's `pattern` (minimatch); only `*` and `?`, which is all artifact names need here. */
export function globMatcher(pattern: string): (name: string) => boolean {
  if (/[[\]{}!+@()]/.test(pattern)) throw new UnsupportedError(`artifact pattern ${pattern}`)
  const source = pattern
    .split('')
    .map(c => (c === '*' ? '[^/]*' : c === '?' ? '[^/]' : c.replace(/[.^$|\\]/g, '\\$&')))
    .join('')
  const regex = new RegExp(`^${source}$`)
  return name => regex.test(name)
}
