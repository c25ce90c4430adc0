// A real crane release for the tests, the demo and the bench: crane built from
// its Go module at the version the action pins, packed as the release archive
// the action downloads (go-containerregistry_<OS>_<ARCH>.tar.gz with a
// checksums.txt), and served from a loopback release server. Nothing of crane's
// source is kept in the repository: `go install` fetches the module by name and
// version through the Go module proxy, like an npm package. Types in
// crane-release.d.mts.
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import * as fs from 'node:fs'
import * as http from 'node:http'
import * as path from 'node:path'
import { gzipSync } from 'node:zlib'
import { buildGoTool, builtGoTool } from './go-tools.mjs'

export { findGo, GO_HELP, TOOLS_DIR } from './go-tools.mjs'

export const CRANE_MODULE = 'github.com/google/go-containerregistry/cmd/crane'
/** The version the action pins (action.yml's crane-version default; a test checks they agree). */
export const CRANE_VERSION = 'v0.21.9'
/**
 * The label the local release is served under: not a version with built-in
 * checksums, so the action checks the archive against the served checksums.txt,
 * as it does for any version it does not know.
 */
export const CRANE_LABEL = `${CRANE_VERSION}-local`

const OS_NAMES = { linux: 'Linux', darwin: 'Darwin' }
const ARCH_NAMES = { x64: 'x86_64', arm64: 'arm64' }

/** The archive name the action asks for on this machine. */
export function archiveName(platform = process.platform, arch = process.arch) {
  const osName = OS_NAMES[platform]
  const cpu = ARCH_NAMES[arch]
  if (!osName || !cpu) throw new Error(`no crane release archive for ${platform}/${arch} here`)
  return `go-containerregistry_${osName}_${cpu}.tar.gz`
}

/**
 * The path of crane built at `version` (go-tools.mjs), building it when it is not there yet
 * (about 20 s and 30 MB of modules the first time).
 */
export function buildCrane({ version = CRANE_VERSION, log = () => {} } = {}) {
  return buildGoTool({ name: 'crane', module: CRANE_MODULE, version, log })
}

/** The built crane's path, or undefined (never builds). */
export function builtCrane(version = CRANE_VERSION) {
  return builtGoTool('crane', version)
}

/**
 * The release files for a built crane: the archive (crane at its root, as in
 * the real release) and checksums.txt in sha256sum's format. Packed once per
 * build, byte for byte the same each time.
 */
export function packRelease(binary, name = archiveName()) {
  const dir = path.dirname(binary)
  const archive = path.join(dir, name)
  const checksums = path.join(dir, 'checksums.txt')
  if (!fs.existsSync(archive) || fs.statSync(archive).mtimeMs < fs.statSync(binary).mtimeMs) {
    const tar = spawnSync(
      'tar',
      [
        '-c',
        '--sort=name',
        '--mtime=@0',
        '--owner=0',
        '--group=0',
        '--numeric-owner',
        '-C',
        dir,
        'crane'
      ],
      { maxBuffer: 512 * 1024 * 1024 }
    )
    if (tar.status !== 0) throw new Error(`tar failed: ${tar.stderr}`)
    const packed = path.join(dir, `.${name}.${process.pid}`)
    fs.writeFileSync(packed, gzipSync(tar.stdout))
    fs.renameSync(packed, archive)
  }
  const sum = createHash('sha256').update(fs.readFileSync(archive)).digest('hex')
  const text = `${sum}  ${name}\n`
  // Other jest workers may be serving this file: replaced whole, and only when it changes.
  if (!fs.existsSync(checksums) || fs.readFileSync(checksums, 'utf8') !== text) {
    const staged = `${checksums}.${process.pid}`
    fs.writeFileSync(staged, text)
    fs.renameSync(staged, checksums)
  }
  return { archive, checksums, sha256: sum, name }
}

/**
 * Serve a release on 127.0.0.1 the way GitHub serves release downloads:
 * `<url>/<label>/<archive>` and `<url>/<label>/checksums.txt`. `tamper()`
 * makes the archive's bytes differ from what checksums.txt says (one byte
 * flipped), as a compromised mirror of the release would.
 */
export async function startReleaseServer({ binary, label = CRANE_LABEL } = {}) {
  const release = packRelease(binary ?? buildCrane())
  const base = '/releases/download'
  const files = new Map([
    [`${base}/${label}/${release.name}`, () => fs.readFileSync(release.archive)],
    [`${base}/${label}/checksums.txt`, () => fs.readFileSync(release.checksums)]
  ])
  let tampered = false
  const log = []
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://release')
    log.push({ method: req.method ?? '', path: url.pathname })
    const read = files.get(url.pathname)
    if (!read || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('Not Found')
      return
    }
    let body = read()
    if (tampered && url.pathname.endsWith(release.name)) {
      body = Buffer.from(body)
      body[body.length >> 1] ^= 0xff
    }
    res.writeHead(200, {
      'content-type': 'application/octet-stream',
      'content-length': body.length
    })
    res.end(req.method === 'HEAD' ? undefined : body)
  })
  await new Promise(resolve => server.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${server.address().port}${base}`
  return {
    url,
    label,
    sha256: release.sha256,
    archive: release.name,
    /** The action's inputs that install this release. */
    inputs: { engine: 'crane', 'crane-version': label, 'crane-url': url },
    requests: () => [...log],
    downloads: () => log.filter(r => r.path.endsWith(release.name)).length,
    tamper: (on = true) => {
      tampered = on
    },
    close: () => new Promise(resolve => server.close(() => resolve()))
  }
}
