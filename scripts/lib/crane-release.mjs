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
import { ROOT } from './runner-env.mjs'

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

/** Where built tools are kept (git-ignored), one folder per module version. */
export const TOOLS_DIR = path.join(ROOT, '.tools')

/** What to do on a machine without Go, said in full. */
export const GO_HELP =
  "Go 1.25 or newer is needed to build crane for the tests (crane v0.21.9's go.mod asks for 1.25; Debian 12's golang-go is 1.19): install it from https://go.dev/dl/ and make sure `go` is on PATH or at /usr/local/go/bin/go"

/** The archive name the action asks for on this machine. */
export function archiveName(platform = process.platform, arch = process.arch) {
  const osName = OS_NAMES[platform]
  const cpu = ARCH_NAMES[arch]
  if (!osName || !cpu) throw new Error(`no crane release archive for ${platform}/${arch} here`)
  return `go-containerregistry_${osName}_${cpu}.tar.gz`
}

/** The go binary: on PATH, else where the official tarball puts it; undefined when absent. */
export function findGo() {
  for (const candidate of ['go', '/usr/local/go/bin/go']) {
    const run = spawnSync(candidate, ['env', 'GOVERSION'], { encoding: 'utf8' })
    if (run.status === 0) return { go: candidate, version: run.stdout.trim() }
  }
  return undefined
}

function craneDir(version) {
  return path.join(TOOLS_DIR, `crane@${version}`)
}

/**
 * The path of crane built at `version`, building it when it is not there yet
 * (about 20 s and 30 MB of modules the first time). Throws with GO_HELP when
 * there is no Go, and with go's own message when the build fails.
 */
export function buildCrane({ version = CRANE_VERSION, log = () => {} } = {}) {
  const built = builtCrane(version)
  if (built) return built
  const dir = craneDir(version)
  const binary = path.join(dir, 'crane')
  const stamp = path.join(dir, 'built.json')
  const found = findGo()
  if (!found) throw new Error(`crane ${version} is not built and Go was not found. ${GO_HELP}`)
  log(`Building crane ${version} from ${CRANE_MODULE} with ${found.version} ...`)
  fs.mkdirSync(TOOLS_DIR, { recursive: true })
  const staging = fs.mkdtempSync(path.join(TOOLS_DIR, '.build-'))
  try {
    const run = spawnSync(
      found.go,
      ['install', '-trimpath', '-ldflags=-s -w', `${CRANE_MODULE}@${version}`],
      {
        encoding: 'utf8',
        // GOFLAGS cleared: a -mod=vendor or similar from the user's shell must not change the build.
        env: { ...process.env, GOBIN: staging, CGO_ENABLED: '0', GOFLAGS: '', GO111MODULE: 'on' },
        timeout: 15 * 60_000
      }
    )
    if (run.status !== 0) {
      throw new Error(
        `go install ${CRANE_MODULE}@${version} failed (exit ${run.status}): ${(run.stderr || run.error?.message || '').trim().slice(-2000)}`
      )
    }
    fs.mkdirSync(dir, { recursive: true })
    fs.renameSync(path.join(staging, 'crane'), binary)
    fs.writeFileSync(
      stamp,
      JSON.stringify({ module: CRANE_MODULE, version, go: found.version }, null, 2) + '\n'
    )
    return binary
  } finally {
    fs.rmSync(staging, { recursive: true, force: true })
  }
}

/** The built crane's path, or undefined (never builds). */
export function builtCrane(version = CRANE_VERSION) {
  const dir = craneDir(version)
  const binary = path.join(dir, 'crane')
  // The stamp is written after the binary is in place: both, or it is not built.
  return fs.existsSync(binary) && fs.existsSync(path.join(dir, 'built.json')) ? binary : undefined
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
