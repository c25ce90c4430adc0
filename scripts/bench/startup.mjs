// Start-up figure: `node dist/index.js` to its first log line, beside bare `node -e`.
import { spawn } from 'node:child_process'
import { log, median, round } from './common.mjs'

/** Milliseconds from spawning `node argv` to its first line on stdout. */
function firstLine(argv, env, work) {
  return new Promise((resolve, reject) => {
    const started = performance.now()
    const child = spawn(process.execPath, argv, { cwd: work, env })
    let at
    child.stdout.on('data', () => {
      at ??= performance.now() - started
    })
    child.on('error', reject)
    child.on('close', () =>
      at === undefined ? reject(new Error(`node ${argv.join(' ')} printed nothing`)) : resolve(at)
    )
  })
}

export async function benchStartup({ quick, dist: DIST_FILE }, work) {
  log('start-up: node dist/index.js to its first log line')
  const runs = quick ? 3 : 7
  const env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME ?? work,
    GITHUB_WORKSPACE: work,
    RUNNER_TEMP: work,
    INPUT_IMAGES: 'docker.io/library/nginx:1.27',
    INPUT_TARGET: 'registry.example.com/mirror',
    'INPUT_DRY-RUN': 'true',
    'INPUT_SKIP-UNCHANGED': 'false'
  }
  const action = []
  const bare = []
  for (let i = 0; i < runs; i++) {
    action.push(await firstLine([DIST_FILE], env, work))
    bare.push(await firstLine(['-e', 'console.log("ready")'], env, work))
  }
  return {
    runs,
    actionMs: round(median(action), 1),
    bareNodeMs: round(median(bare), 1),
    ratio: round(median(action) / median(bare), 2)
  }
}
