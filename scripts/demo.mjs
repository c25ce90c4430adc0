#!/usr/bin/env node
// `npm run demo`: start two registries on loopback, seed the source with
// sample images (one multi-platform), run the bundled action against them
// exactly as the runner would, print the summary as text, run it again to
// show everything unchanged, and stop the registries. The engine is crane,
// the action's default, installed by the action from a loopback release of
// crane built from its Go module; without Go, skopeo, and a line says why.
// `npm run demo -- --save DIR` also writes each run's log, summary and outputs
// to DIR, with the registries' and the release server's random ports replaced
// by names, so two demos (before and after a change) can be compared with diff.
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { buildCrane, GO_HELP, startReleaseServer } from './lib/crane-release.mjs'
import { ensureTools, startRegistry } from './lib/local-registry.mjs'
import { ROOT as root, runAction as runBundle } from './lib/run-action.mjs'
import { pushImage } from './lib/seed-images.mjs'

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'image-mirror-demo-'))
const credentials = { username: 'demo', password: 'demo-password' }
const saveAt = process.argv.includes('--save')
  ? path.resolve(process.argv[process.argv.indexOf('--save') + 1] ?? 'demo-run')
  : undefined

await ensureTools()
const release = await craneRelease()
const source = await startRegistry()
const target = await startRegistry({ auth: credentials })
try {
  console.log(
    release
      ? `Engine: crane ${release.label}, installed by the action from ${release.url}`
      : 'Engine: skopeo'
  )
  console.log(`Source registry: http://${source.host} (anonymous)`)
  console.log(`Target registry: http://${target.host} (htpasswd: demo / demo-password)\n`)
  const seed = [
    ['library/nginx', '1.27', ['linux/amd64', 'linux/arm64', 'linux/arm/v7']],
    ['library/redis', '7.4'],
    ['library/redis', '7.2'],
    ['library/alpine', '3.19'],
    ['library/alpine', '3.20'],
    ['library/alpine', '3.21'],
    ['team/app', 'v1']
  ]
  for (const [repository, tag, platforms] of seed) {
    const image = await pushImage(source.host, repository, tag, {
      seed: `${repository}:${tag}`,
      ...(platforms ? { platforms } : {})
    })
    console.log(`seeded ${source.host}/${repository}:${tag}  ${image.digest.slice(0, 19)}…`)
  }

  const fill = file =>
    fs.readFileSync(path.join(root, 'demo', file), 'utf8').replaceAll('{source}', source.host)
  fs.writeFileSync(path.join(work, 'images.txt'), fill('images.txt'))
  fs.writeFileSync(path.join(work, 'allowlist.txt'), fill('allowlist.txt'))
  const inputs = {
    'images-file': 'images.txt',
    allowlist: 'allowlist.txt',
    target: `${target.host}/mirror`,
    ...(release ? release.inputs : { engine: 'skopeo' }),
    username: credentials.username,
    password: credentials.password,
    'insecure-registries': `${source.host},${target.host}`
  }

  const hosts = [
    [source.host, '{source}'],
    [target.host, '{target}'],
    ...(release ? [[new URL(release.url).host, '{release}']] : [])
  ]
  const first = await runAction(inputs, 'first run: copies what the list asks for', 'first', hosts)
  const second = await runAction(
    inputs,
    'second run: nothing changed upstream, nothing is copied',
    'second',
    hosts
  )
  process.exitCode = first === 0 && second === 0 ? 0 : 1
} finally {
  await release?.close()
  await source.stop()
  await target.stop()
  fs.rmSync(work, { recursive: true, force: true })
}

/** crane built from its Go module and served as a release, or undefined (skopeo is used) with why. */
async function craneRelease() {
  try {
    const binary = buildCrane({ log: line => console.log(line) })
    return await startReleaseServer({ binary })
  } catch (error) {
    console.log(
      `crane could not be built, so this demo uses engine skopeo instead: ${error instanceof Error ? error.message : String(error)}`
    )
    if (!String(error).includes(GO_HELP)) console.log(GO_HELP)
    return undefined
  }
}

/**
 * Run dist/index.js as the runner does (scripts/lib/run-action.mjs, which does
 * not block: the crane release is served from this process) and print its log
 * and summary as text; returns the exit code.
 */
async function runAction(inputs, title, name, hosts) {
  console.log(`\n=== ${title} ===\n$ node dist/index.js\n`)
  const run = await runBundle(inputs, { workdir: work })
  if (saveAt) save(run, name, hosts)
  // The log, without the runner's workflow commands (they are for the runner, not for people).
  for (const { line } of run.lines) {
    if (line && !line.startsWith('::')) console.log(`  ${line}`)
  }
  if (run.stderr) process.stderr.write(run.stderr)
  printSummary(run.summary)
  return run.code
}

function printSummary(summary) {
  const entities = { amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'" }
  const text = html =>
    html
      .replace(/<br>/g, ' ')
      .replace(/<[^>]+>/g, '')
      .replace(/&(#?\w+);/g, (m, e) =>
        e.startsWith('#') ? String.fromCodePoint(Number(e.slice(1))) : (entities[e] ?? m)
      )
  // A cell's lines, as the summary breaks them with <br>.
  const lines = html => html.split('<br>').map(text).filter(Boolean)
  const printList = title => {
    const list = new RegExp(`<h3>${title}</h3>\\s*<ul>(.*?)</ul>`, 's').exec(summary)
    if (!list) return
    console.log(`${title}:`)
    for (const [, item] of list[1].matchAll(/<li>(.*?)<\/li>/gs)) console.log(`  - ${text(item)}`)
    console.log()
  }
  const rows = [...summary.matchAll(/<tr>(.*?)<\/tr>/gs)].map(([, row]) =>
    [...row.matchAll(/<t[hd]>(.*?)<\/t[hd]>/gs)].map(([, cell]) => cell)
  )
  console.log('\n--- Job summary (as text) ---')
  const tableAt = summary.indexOf('<table>')
  for (const m of summary.slice(0, tableAt).matchAll(/<p>(.*?)<\/p>/g)) console.log(text(m[1]))
  console.log()
  // What went wrong comes first in the summary, then the table, then the notes.
  printList('Needs attention')
  const [header, ...body] = rows
  const column = name => header.map(text).indexOf(name)
  for (const row of body) {
    const cell = name => (column(name) >= 0 ? (row[column(name)] ?? '') : '')
    const [image, ...read] = lines(cell('Image'))
    console.log(`${text(cell('Status')).padEnd(13)} ${image}  ${read.join(' ')}`)
    const address = text(cell('Mirrored address'))
    if (address && address !== '–') console.log(`${''.padEnd(13)}  → ${address}`)
    const details = lines(cell('Details')).filter(v => v !== '–')
    if (details.length > 0) console.log(`${''.padEnd(13)}  ${details.join('  ')}`)
  }
  printList('Notes')
  const pull = /<pre[^>]*><code>(.*?)<\/code><\/pre>/s.exec(summary)
  if (pull) console.log(`\nHow to use:\n  ${text(pull[1]).split('\n').join('\n  ')}`)
}

/** Write a run's log, summary and outputs under --save's folder, ports replaced by names. */
function save(run, name, hosts) {
  // A host also appears in mirrored names, its port's ':' spelt '_'.
  const named = text =>
    hosts.reduce(
      (t, [host, as]) =>
        t
          .replaceAll(host, as)
          .replaceAll(host.replace(':', '_'), as.replace('}', '_}'))
          .replaceAll(host.replace(':', '&#95;'), as.replace('}', '_}')),
      text.replaceAll(work, '{work}')
    )
  fs.mkdirSync(saveAt, { recursive: true })
  const log = run.lines.map(({ line }) => line).join('\n')
  fs.writeFileSync(path.join(saveAt, `${name}.log`), named(`${log}\n`))
  fs.writeFileSync(path.join(saveAt, `${name}.summary.html`), named(run.summary))
  fs.writeFileSync(
    path.join(saveAt, `${name}.outputs.json`),
    named(`${JSON.stringify(run.outputs, null, 2)}\n`)
  )
}
