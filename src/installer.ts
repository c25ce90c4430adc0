/**
 * crane installer around the tool cache, like actions/setup-go: download the
 * release archive for this OS and architecture, verify its sha256 (built in
 * for the pinned version, from the release's checksums.txt otherwise), and
 * cache it so the next run on the machine reuses it.
 */
import * as core from '@actions/core'
import * as tc from '@actions/tool-cache'
import { createHash } from 'node:crypto'
import * as fs from 'node:fs'
import * as path from 'node:path'

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

async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of fs.createReadStream(file)) hash.update(chunk as Buffer)
  return hash.digest('hex')
}

async function download(url: string, what: string): Promise<string> {
  try {
    return await tc.downloadTool(url)
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error)
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

/** Install crane (or reuse the tool cache's verified copy) and return the binary's path. */
export async function installCrane(options: CraneInstallOptions): Promise<string> {
  const platform = options.platform ?? process.platform
  const arch = options.arch ?? process.arch
  const archive = craneArchiveName(platform, arch)
  const binaryName = platform === 'win32' ? 'crane.exe' : 'crane'
  const version = options.version.replace(/^v/, '')

  // Only verified downloads are ever cached, so a hit needs no second check.
  const cached = tc.find('crane', version, arch)
  if (cached) {
    core.info(`crane ${options.version} found in the tool cache`)
    return path.join(cached, binaryName)
  }

  // A crane already on PATH is deliberately ignored: only this pinned, verified release is used.
  const url = `${options.baseUrl}/${options.version}/${archive}`
  core.info(`Downloading crane ${options.version} from ${url}`)
  const expected = await expectedChecksum(options, archive)
  const file = await download(url, `crane ${options.version}`)
  const actual = await sha256File(file)
  if (actual !== expected) {
    fs.rmSync(file, { force: true })
    throw new Error(
      `the crane archive from ${url} has sha256 ${actual}, expected ${expected}; it was not installed`
    )
  }
  core.info(`crane archive verified (sha256 ${actual})`)

  const extracted = await tc.extractTar(file)
  fs.rmSync(file, { force: true })
  if (!fs.existsSync(path.join(extracted, binaryName))) {
    throw new Error(`the crane archive from ${url} holds no ${binaryName}`)
  }
  if (platform !== 'win32') fs.chmodSync(path.join(extracted, binaryName), 0o755)
  const dir = await tc.cacheDir(extracted, 'crane', version, arch)
  return path.join(dir, binaryName)
}
