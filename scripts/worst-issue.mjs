#!/usr/bin/env node
// The worst 64 KiB issues a stranger can open, run through a bundle exactly as
// the runner runs it, against a real local registry and a GitHub API stand-in
// that records the answer: wall time, CPU, peak memory, answer size, exit code.
// Compare two builds in one run (ratios, not seconds, on a noisy machine):
//   node scripts/worst-issue.mjs [--dist dist/index.js] [--baseline /tmp/before/dist/index.js]
import * as fs from 'node:fs'
import * as http from 'node:http'
import * as os from 'node:os'
import * as path from 'node:path'
import { parseArgs } from 'node:util'
import { DIST, runAction } from './lib/run-action.mjs'
import { ensureTools, startRegistry } from './lib/local-registry.mjs'

const { values: args } = parseArgs({
  options: {
    dist: { type: 'string', default: DIST },
    baseline: { type: 'string' },
    'timeout-s': { type: 'string', default: '600' }
  }
})

/** A recording stand-in for the issue endpoints the action calls. */
async function startApi() {
  const comments = []
  const server = http.createServer((req, res) => {
    let raw = ''
    req.on('data', c => (raw += c))
    req.on('end', () => {
      const body = raw ? JSON.parse(raw) : {}
      res.setHeader('content-type', 'application/json')
      if (req.method === 'POST' && /\/comments$/.test(req.url)) {
        // GitHub refuses bodies over 65,536 characters: so does the stand-in.
        if ((body.body ?? '').length > 65536) {
          res.statusCode = 422
          return res.end(JSON.stringify({ message: 'Validation Failed: body is too long' }))
        }
        comments.push(body.body)
        res.statusCode = 201
        return res.end(JSON.stringify({ id: comments.length, body: body.body }))
      }
      if (req.method === 'GET' && /\/comments/.test(req.url)) return res.end('[]')
      res.statusCode = 200
      res.end(req.method === 'POST' ? '[]' : '{}')
    })
  })
  await new Promise(resolve => server.listen(0, '127.0.0.1', resolve))
  return { url: `http://127.0.0.1:${server.address().port}`, comments, close: () => server.close() }
}

function eventFile(title, body) {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'worst-issue-')), 'event.json')
  const issue = { number: 7, title, body, labels: [], state: 'open', user: { login: 'stranger' } }
  fs.writeFileSync(file, JSON.stringify({ action: 'opened', issue }))
  return file
}

/** Tags `t1`, `t2`, ... in a title of at most `bytes`. */
function distinctTags(prefix, bytes) {
  let title = `${prefix}:t1`
  for (let i = 2; ; i++) {
    const next = `${title},t${i}`
    if (Buffer.byteLength(next) > bytes) return title
    title = next
  }
}

await ensureTools()
const registry = await startRegistry()
const KIB64 = 64 * 1024 - 64
const cases = [
  { name: 'nginx: and 65,000 commas', title: `nginx:${','.repeat(KIB64 - 6)}`, body: '' },
  {
    name: 'distinct tags filling 64 KiB',
    title: distinctTags(`${registry.host}/library/app`, KIB64),
    body: ''
  },
  {
    name: 'one image a line, 1,900 lines',
    title: 'Please mirror',
    body: Array.from({ length: 1900 }, (_, i) => `${registry.host}/library/app:v${i}`).join('\n')
  },
  {
    // The longest answer an accepted issue can ask for: 100 images, each refused at length.
    name: '100 long refused lines, issue-max-images 100',
    title: 'Mirror these',
    body: Array.from(
      { length: 100 },
      (_, i) => `${registry.host}/library/${'x'.repeat(200)}${i}/${'y'.repeat(200)}:Bad-${i}!`
    ).join('\n'),
    inputs: { 'issue-max-images': '100' }
  }
]

async function measure(dist, c) {
  const api = await startApi()
  try {
    const run = await runAction(
      {
        'from-issue': 'true',
        target: `${registry.host}/mirror`,
        engine: 'skopeo',
        allowlist: 'allows.txt',
        'insecure-registries': registry.host,
        'github-token': 'ghs_worstIssueStandIn',
        retries: '0',
        ...c.inputs
      },
      {
        dist,
        files: { 'allows.txt': `docker.io/library/nginx\n${registry.host}/library/*\n` },
        env: {
          GITHUB_EVENT_NAME: 'issues',
          GITHUB_EVENT_PATH: eventFile(c.title, c.body),
          GITHUB_REPOSITORY: 'acme/mirror',
          GITHUB_API_URL: api.url,
          GITHUB_SERVER_URL: 'https://github.com',
          GITHUB_RUN_ID: '1'
        },
        timeoutMs: Number(args['timeout-s']) * 1000
      }
    )
    const answer = api.comments.at(-1) ?? ''
    const last = run.lines.findLast(l => l.cpu !== undefined)
    return {
      code: run.code,
      seconds: run.wallMs / 1000,
      cpuSeconds: last ? last.cpu / 1000 : undefined,
      peakMiB: run.peakRssKiB !== undefined ? run.peakRssKiB / 1024 : undefined,
      comments: api.comments.length,
      answerChars: answer.length,
      answered: /image-mirror: result/.test(answer),
      outputs: Object.keys(run.outputs).length,
      error: run.lines.find(l => l.line.startsWith('::error::'))?.line.slice(0, 160)
    }
  } finally {
    api.close()
  }
}

const fmt = v => (v === undefined ? '–' : typeof v === 'number' ? v.toFixed(2) : String(v))
const builds = [['this build', args.dist]]
if (args.baseline) builds.push(['baseline', args.baseline])
const rows = []
try {
  for (const c of cases) {
    const bytes = Buffer.byteLength(c.title) + Buffer.byteLength(c.body)
    for (const [label, dist] of builds) {
      const m = await measure(dist, c)
      rows.push({ case: c.name, bytes, build: label, ...m })
      console.log(
        `${c.name} (${bytes} B), ${label}: exit ${m.code}, ${fmt(m.seconds)} s wall, ` +
          `peak ${fmt(m.peakMiB)} MiB, ${m.comments} comment(s), answer ${m.answerChars} chars` +
          `${m.answered ? '' : ' (NO ANSWER)'}, ${m.outputs} output(s)${m.error ? `\n    ${m.error}` : ''}`
      )
    }
  }
} finally {
  await registry.stop()
}
if (args.baseline) {
  console.log('\nRatios (baseline / this build):')
  for (const c of cases) {
    const [now, before] = ['this build', 'baseline'].map(b =>
      rows.find(r => r.case === c.name && r.build === b)
    )
    console.log(
      `  ${c.name}: time ${fmt(before.seconds / now.seconds)}x, memory ${fmt(before.peakMiB / now.peakMiB)}x, answer ${before.answerChars} -> ${now.answerChars} chars`
    )
  }
}
