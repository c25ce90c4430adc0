#!/usr/bin/env node
// `npm run demo`: run the bundled action exactly as the runner would, on a
// sample list and the DaoCloud allowlist, and print its summary as text.
// This version plans and validates only, so the demo is a dry run.
import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'image-mirror-demo-'))
const outputFile = path.join(work, 'output')
const summaryFile = path.join(work, 'summary.html')
fs.writeFileSync(outputFile, '')
fs.writeFileSync(summaryFile, '')
fs.mkdirSync(path.join(work, 'temp'))

const inputs = {
  'images-file': path.join(root, 'demo', 'images.txt'),
  allowlist: path.join(root, '__fixtures__', 'allowlist-daocloud.txt'),
  target: 'registry.example.com/mirror',
  'dry-run': 'true',
  'skip-unchanged': 'false'
}
const env = {
  PATH: process.env.PATH,
  HOME: process.env.HOME,
  GITHUB_WORKSPACE: root,
  GITHUB_OUTPUT: outputFile,
  GITHUB_STEP_SUMMARY: summaryFile,
  RUNNER_TEMP: path.join(work, 'temp'),
  RUNNER_TOOL_CACHE: path.join(work, 'tool-cache')
}
for (const [name, value] of Object.entries(inputs)) env[`INPUT_${name.toUpperCase()}`] = value

console.log(`$ node dist/index.js   (dry run of demo/images.txt against the DaoCloud allowlist)\n`)
const run = spawnSync(process.execPath, [path.join(root, 'dist', 'index.js')], {
  env,
  stdio: ['ignore', 'inherit', 'inherit']
})

const entities = { amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'" }
const text = html =>
  html
    .replace(/<br>/g, ' ')
    .replace(/<[^>]+>/g, '')
    .replace(/&(#?\w+);/g, (m, e) =>
      e.startsWith('#') ? String.fromCodePoint(Number(e.slice(1))) : (entities[e] ?? m)
    )

const summary = fs.readFileSync(summaryFile, 'utf8')
const rows = [...summary.matchAll(/<tr>(.*?)<\/tr>/g)].map(([, row]) =>
  [...row.matchAll(/<t[hd]>(.*?)<\/t[hd]>/g)].map(([, cell]) => text(cell))
)
console.log('\n=== Job summary (as text) ===\n')
const tableAt = summary.indexOf('<table>')
for (const m of summary.slice(0, tableAt).matchAll(/<p>(.*?)<\/p>/g)) console.log(text(m[1]))
console.log()
for (const [request, target, status, reason] of rows.slice(1)) {
  console.log(`${status.padEnd(12)} ${request}`)
  if (target !== '–') console.log(`${''.padEnd(12)}   → ${target}`)
  if (reason !== '–') console.log(`${''.padEnd(12)}   ${reason}`)
}
const pull = /<pre[^>]*><code>(.*?)<\/code><\/pre>/s.exec(summary)
if (pull) console.log(`\nHow to use:\n  ${text(pull[1])}`)
fs.rmSync(work, { recursive: true, force: true })
// The demo shows rejections on purpose; the run itself must have worked.
process.exit(run.status === 0 ? 0 : 1)
