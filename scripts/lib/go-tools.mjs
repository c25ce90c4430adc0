// Test and bench tools that are Go programs (crane, regclient's regsync), built
// from their Go modules by name and version with `go install`, like npm
// packages: nothing of their source is kept in the repository, and each build
// is cached in the git-ignored .tools/<name>@<version>/ with a stamp. The
// tests' own Go programs (__fixtures__/refreg, tools/masterminds-semver) are
// built the same way from their folder. Types in go-tools.d.mts.
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { ROOT } from './runner-env.mjs'

/** Where built tools are kept (git-ignored), one folder per tool and version. */
export const TOOLS_DIR = path.join(ROOT, '.tools')

/** What to do on a machine without Go, said in full. */
export const GO_HELP =
  "Go 1.25 or newer is needed to build the Go tools the tests and the bench use (crane v0.21.9's go.mod asks for 1.25; Debian 12's golang-go is 1.19): install it from https://go.dev/dl/ and make sure `go` is on PATH or at /usr/local/go/bin/go"

/** The go binary: on PATH, else where the official tarball puts it; undefined when absent. */
export function findGo() {
  for (const candidate of ['go', '/usr/local/go/bin/go']) {
    const run = spawnSync(candidate, ['env', 'GOVERSION'], { encoding: 'utf8' })
    if (run.status === 0) return { go: candidate, version: run.stdout.trim() }
  }
  return undefined
}

function toolDir(name, version) {
  return path.join(TOOLS_DIR, `${name}@${version}`)
}

/** The built tool's path, or undefined (never builds). */
export function builtGoTool(name, version) {
  const dir = toolDir(name, version)
  const binary = path.join(dir, name)
  // The stamp is written after the binary is in place: both, or it is not built.
  return fs.existsSync(binary) && fs.existsSync(path.join(dir, 'built.json')) ? binary : undefined
}

/**
 * The path of `name` built from `module` at `version`, building it when it is not there yet.
 * Throws with GO_HELP when there is no Go, and with go's own message when the build fails.
 */
export function buildGoTool({ name, module, version, log = () => {} }) {
  return build({
    name,
    version,
    what: `${module}@${version}`,
    log,
    args: () => ['install', '-trimpath', '-ldflags=-s -w', `${module}@${version}`],
    env: staging => ({ GOBIN: staging }),
    stamp: { module, version }
  })
}

/**
 * A test program of this repository's own (a folder with main.go, go.mod and go.sum under
 * __fixtures__ or tools), built into .tools/<name>@<hash of its files>; its dependencies come from the
 * Go module proxy as go.sum pins them.
 */
export function buildLocalGoTool({ name, dir, log = () => {} }) {
  const version = localVersion(dir)
  return build({
    name,
    version,
    what: path.relative(ROOT, dir),
    log,
    args: staging => ['build', '-trimpath', '-ldflags=-s -w', '-o', path.join(staging, name), '.'],
    env: () => ({ GOFLAGS: '-mod=readonly' }),
    cwd: dir,
    stamp: { dir: path.relative(ROOT, dir), version }
  })
}

/** The version of a local program: a hash of its Go files, go.mod and go.sum. */
function localVersion(dir) {
  const hash = createHash('sha256')
  for (const file of fs.readdirSync(dir).sort()) {
    if (!/\.go$|^go\.(mod|sum)$/.test(file)) continue
    hash.update(`${file}\0`).update(fs.readFileSync(path.join(dir, file)))
  }
  return hash.digest('hex').slice(0, 12)
}

/** The built local program's path, or undefined (never builds). */
export function builtLocalGoTool({ name, dir }) {
  return builtGoTool(name, localVersion(dir))
}

function build({ name, version, what, log, args, env, cwd, stamp }) {
  const built = builtGoTool(name, version)
  if (built) return built
  const dir = toolDir(name, version)
  const binary = path.join(dir, name)
  const found = findGo()
  if (!found) throw new Error(`${name} ${version} is not built and Go was not found. ${GO_HELP}`)
  log(`Building ${name} ${version} from ${what} with ${found.version} ...`)
  fs.mkdirSync(TOOLS_DIR, { recursive: true })
  const staging = fs.mkdtempSync(path.join(TOOLS_DIR, '.build-'))
  try {
    const run = spawnSync(found.go, args(staging), {
      encoding: 'utf8',
      ...(cwd ? { cwd } : {}),
      // GOFLAGS cleared: a -mod=vendor or similar from the user's shell must not change the build.
      env: { ...process.env, CGO_ENABLED: '0', GOFLAGS: '', GO111MODULE: 'on', ...env(staging) },
      timeout: 15 * 60_000
    })
    if (run.status !== 0) {
      throw new Error(
        `go ${args(staging).join(' ')} failed (exit ${run.status}): ${(run.stderr || run.error?.message || '').trim().slice(-2000)}`
      )
    }
    fs.mkdirSync(dir, { recursive: true })
    fs.renameSync(path.join(staging, name), binary)
    fs.writeFileSync(
      path.join(dir, 'built.json'),
      JSON.stringify({ ...stamp, go: found.version }, null, 2) + '\n'
    )
    return binary
  } finally {
    fs.rmSync(staging, { recursive: true, force: true })
  }
}

/** regclient's regsync: a peer of the action in the bench, and the reference its sync files are read against (sync-files.e2e). */
export const REGSYNC_MODULE = 'github.com/regclient/regclient/cmd/regsync'
export const REGSYNC_VERSION = 'v0.11.7'

export function buildRegsync({ log } = {}) {
  return buildGoTool({ name: 'regsync', module: REGSYNC_MODULE, version: REGSYNC_VERSION, log })
}

/** The built regsync's path, or undefined (never builds). */
export function builtRegsync() {
  return builtGoTool('regsync', REGSYNC_VERSION)
}

/**
 * sigstore's cosign, which signs the tests' images, attaches attestations and SBOMs, and
 * verifies the mirrored copies from the target (issue 19). A cold build takes minutes.
 */
export const COSIGN_MODULE = 'github.com/sigstore/cosign/v3/cmd/cosign'
export const COSIGN_VERSION = 'v3.1.3'

export function buildCosign({ log } = {}) {
  return buildGoTool({ name: 'cosign', module: COSIGN_MODULE, version: COSIGN_VERSION, log })
}

/** The built cosign's path, or undefined (never builds). */
export function builtCosign() {
  return builtGoTool('cosign', COSIGN_VERSION)
}

/**
 * Masterminds/semver v3.5.0 as skopeo sync's images-by-semver calls it (tools/masterminds-semver,
 * a program of ours): the reference the `loose` tag policy is compared with
 * (masterminds-semver.test). Built into .tools/masterminds-semver@<hash of its files>/.
 */
const MASTERMINDS_SEMVER = {
  name: 'masterminds-semver',
  dir: path.join(ROOT, 'tools', 'masterminds-semver')
}
/** The Masterminds/semver version its go.mod requires (skopeo's pin). */
export const MASTERMINDS_SEMVER_VERSION =
  /^require github\.com\/Masterminds\/semver\/v3 (\S+)$/m.exec(
    fs.readFileSync(path.join(MASTERMINDS_SEMVER.dir, 'go.mod'), 'utf8')
  )?.[1]

export function buildMastermindsSemver({ log } = {}) {
  return buildLocalGoTool({ ...MASTERMINDS_SEMVER, log })
}

/** The built masterminds-semver's path, or undefined (never builds). */
export function builtMastermindsSemver() {
  return builtLocalGoTool(MASTERMINDS_SEMVER)
}
