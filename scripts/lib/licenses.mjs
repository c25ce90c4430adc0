// dist/licenses.txt: the licence of every package bundled into dist/, found from the source
// maps ncc writes (each bundled file is a source there). ncc's own `--license` writes one
// file per chunk under the same name, so a bundle with a lazily loaded chunk (cacache's
// `import('p-map')`, under @sigstore/tuf) kept only that chunk's licences. Deterministic:
// packages sorted by name, the format ncc used (name, licence, text, blank line).
import * as fs from 'node:fs'
import * as path from 'node:path'

const LICENSE_FILE = /^(licen[cs]e|copying)(\.(md|txt|markdown))?$/i

/** The package directories bundled, from every `*.js.map` in `dist`. */
function bundledPackages(dist, root) {
  const dirs = new Map()
  for (const name of fs
    .readdirSync(dist)
    .filter(n => n.endsWith('.js.map'))
    .sort()) {
    const map = JSON.parse(fs.readFileSync(path.join(dist, name), 'utf8'))
    for (const source of map.sources ?? []) {
      const at = source.lastIndexOf('node_modules/')
      if (at < 0) continue
      const parts = source.slice(at + 'node_modules/'.length).split('/')
      const pkg = parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]
      const dir = path.resolve(
        root,
        source.slice(source.indexOf('node_modules/'), at),
        'node_modules',
        pkg
      )
      const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'))
      // Two copies of one version are one entry; two versions are two.
      dirs.set(`${manifest.name}@${manifest.version}`, { dir, manifest })
    }
  }
  return [...dirs.values()].sort((a, b) =>
    `${a.manifest.name}@${a.manifest.version}`.localeCompare(
      `${b.manifest.name}@${b.manifest.version}`
    )
  )
}

/** Write `dist/licenses.txt` for the bundle in `dist`; `root` is where node_modules is. */
export function writeLicenses(dist, root) {
  const seen = new Set()
  const parts = []
  for (const { dir, manifest } of bundledPackages(dist, root)) {
    const file = fs
      .readdirSync(dir)
      .filter(n => LICENSE_FILE.test(n))
      .sort()[0]
    const text = file ? fs.readFileSync(path.join(dir, file), 'utf8').trim() : ''
    const license = typeof manifest.license === 'string' ? manifest.license : 'UNKNOWN'
    const entry = `${manifest.name}\n${license}\n${text}\n`
    // The same licence text for one name (two versions) is said once.
    if (seen.has(entry)) continue
    seen.add(entry)
    parts.push(entry)
  }
  fs.writeFileSync(path.join(dist, 'licenses.txt'), parts.join('\n'))
  return parts.length
}
