#!/usr/bin/env node
// `npm run check-dist`: build the bundle with ncc into a temporary directory
// and compare it, file by file and byte for byte, with the committed dist/.
// Exit 0 when they are the same, 1 when they differ, 2 when the build fails.
// No dependencies; ncc is run through npx with an argument array, no shell.
import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'
import { writeLicenses } from './lib/licenses.mjs'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const dist = path.join(root, 'dist')

/** Every file below dir, as sorted paths relative to it ('/'-separated). */
function listFiles(dir) {
  if (!fs.existsSync(dir)) return []
  const files = []
  const walk = relative => {
    for (const entry of fs.readdirSync(path.join(dir, relative), { withFileTypes: true })) {
      const name = relative ? `${relative}/${entry.name}` : entry.name
      if (entry.isDirectory()) walk(name)
      else files.push(name)
    }
  }
  walk('')
  return files.sort()
}

/** Build into a new temporary directory; returns its path, or exits 2 on failure. */
function build() {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'image-mirror-check-dist-'))
  const args = ['--no', 'ncc', 'build', 'src/index.ts', '-o', out, '--source-map']
  console.log(`Building the bundle with ncc into ${out} ...`)
  const child = spawnSync('npx', args, { cwd: root, encoding: 'utf8', stdio: 'pipe' })
  if (child.error || child.status !== 0) {
    process.stderr.write(child.stdout ?? '')
    process.stderr.write(child.stderr ?? '')
    const why = child.error ? child.error.message : `exit code ${child.status ?? child.signal}`
    console.error(`ncc build failed (${why}); dist/ could not be checked.`)
    fs.rmSync(out, { recursive: true, force: true })
    process.exit(2)
  }
  writeLicenses(out, root)
  return out
}

const built = build()
try {
  const expected = listFiles(built)
  const committed = listFiles(dist)
  const problems = []
  for (const file of expected) {
    if (!committed.includes(file)) {
      problems.push(`missing from dist/: ${file}`)
      continue
    }
    const want = fs.readFileSync(path.join(built, file))
    const have = fs.readFileSync(path.join(dist, file))
    if (!want.equals(have)) {
      problems.push(
        `differs: dist/${file} (committed ${have.length} bytes, built ${want.length} bytes)`
      )
    }
  }
  for (const file of committed) {
    if (!expected.includes(file)) problems.push(`extra in dist/ (not built by ncc): ${file}`)
  }

  if (problems.length > 0) {
    console.error(`dist/ is out of date with src/:\n  ${problems.join('\n  ')}`)
    console.error('Run `npm run package` and commit every file in dist/.')
    process.exitCode = 1
  } else {
    console.log(`dist/ is up to date (${expected.length} files match the build byte for byte)`)
  }
} finally {
  fs.rmSync(built, { recursive: true, force: true })
}
