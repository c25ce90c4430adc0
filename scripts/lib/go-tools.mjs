// Test and bench tools that are Go programs (crane, regclient's regsync), built
// from their Go modules by name and version with `go install`, like npm
// packages: nothing of their source is kept in the repository, and each build
// is cached in the git-ignored .tools/<name>@<version>/ with a stamp. Types in
// go-tools.d.mts.
import { spawnSync } from 'node:child_process'
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
  const built = builtGoTool(name, version)
  if (built) return built
  const dir = toolDir(name, version)
  const binary = path.join(dir, name)
  const found = findGo()
  if (!found) throw new Error(`${name} ${version} is not built and Go was not found. ${GO_HELP}`)
  log(`Building ${name} ${version} from ${module} with ${found.version} ...`)
  fs.mkdirSync(TOOLS_DIR, { recursive: true })
  const staging = fs.mkdtempSync(path.join(TOOLS_DIR, '.build-'))
  try {
    const run = spawnSync(
      found.go,
      ['install', '-trimpath', '-ldflags=-s -w', `${module}@${version}`],
      {
        encoding: 'utf8',
        // GOFLAGS cleared: a -mod=vendor or similar from the user's shell must not change the build.
        env: { ...process.env, GOBIN: staging, CGO_ENABLED: '0', GOFLAGS: '', GO111MODULE: 'on' },
        timeout: 15 * 60_000
      }
    )
    if (run.status !== 0) {
      throw new Error(
        `go install ${module}@${version} failed (exit ${run.status}): ${(run.stderr || run.error?.message || '').trim().slice(-2000)}`
      )
    }
    fs.mkdirSync(dir, { recursive: true })
    fs.renameSync(path.join(staging, name), binary)
    fs.writeFileSync(
      path.join(dir, 'built.json'),
      JSON.stringify({ module, version, go: found.version }, null, 2) + '\n'
    )
    return binary
  } finally {
    fs.rmSync(staging, { recursive: true, force: true })
  }
}

/** regclient's regsync, a peer of the action in the bench. */
export const REGSYNC_MODULE = 'github.com/regclient/regclient/cmd/regsync'
export const REGSYNC_VERSION = 'v0.11.7'

export function buildRegsync({ log } = {}) {
  return buildGoTool({ name: 'regsync', module: REGSYNC_MODULE, version: REGSYNC_VERSION, log })
}
