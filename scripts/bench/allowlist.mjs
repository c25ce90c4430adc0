// Allowlist figure: the project's matcher on DaoCloud's list, beside trying every line in turn.
import * as fs from 'node:fs'
import * as path from 'node:path'
import ts from 'typescript'
import { ROOT } from '../lib/run-action.mjs'
import { log, round } from './common.mjs'

/** Transpile src/allowlist/allowlist.ts and src/image/references.ts so the real matcher is measured. */
async function loadAllowlistModule(work) {
  const dir = path.join(work, 'allowlist-src')
  fs.mkdirSync(dir, { recursive: true })
  fs.writeFileSync(path.join(dir, 'package.json'), '{"type":"module"}\n')
  // Side by side, so allowlist.js's import of '../image/references.js' is pointed next door.
  for (const [name, folder] of [
    ['allowlist', 'allowlist'],
    ['references', 'image']
  ]) {
    const source = fs.readFileSync(path.join(ROOT, 'src', folder, `${name}.ts`), 'utf8')
    const { outputText } = ts.transpileModule(source, {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 }
    })
    fs.writeFileSync(
      path.join(dir, `${name}.js`),
      outputText.replaceAll('../image/references.js', './references.js')
    )
  }
  return {
    ...(await import(path.join(dir, 'allowlist.js'))),
    ...(await import(path.join(dir, 'references.js')))
  }
}

export async function benchAllowlist({ quick }, work) {
  log('allowlist: matching requests against the DaoCloud allowlist')
  const { parseAllowlist, parseReference, repositoryName } = await loadAllowlistModule(work)
  const text = fs.readFileSync(path.join(ROOT, '__fixtures__', 'allowlist-daocloud.txt'), 'utf8')
  const started = performance.now()
  const allowlist = parseAllowlist(text, 'allows.txt')
  const parseMs = performance.now() - started

  // Requests as people write them: half allowed (one per pattern, as deep as it allows), half not.
  const allowed = allowlist.patterns.map((p, i) =>
    p.kind === 'exact'
      ? `${p.prefix}:v${i}`
      : p.kind === 'one'
        ? `${p.prefix}/image-${i}:1.${i}`
        : `${p.prefix}/team-${i}/image:2.${i}`
  )
  const refused = allowlist.patterns.map((p, i) =>
    i % 2 === 0 ? `docker.io/nobody-${i}/image:${i}` : `unlisted-${i}.example.com/x/y:${i}`
  )
  const pool = allowed.flatMap((a, i) => [a, refused[i]])
  const total = quick ? 50_000 : 400_000
  const requests = Array.from({ length: total }, (_, i) => pool[i % pool.length])

  // Baseline: the same parsing, then every line of the list tried in turn.
  const linear = ref => {
    const name = repositoryName(ref)
    for (const p of allowlist.patterns) {
      if (p.kind === 'exact' ? name === p.prefix : name.startsWith(`${p.prefix}/`)) {
        if (p.kind !== 'one' || !name.slice(p.prefix.length + 1).includes('/')) return p
      }
    }
    return undefined
  }
  const measure = match => {
    let hits = 0
    const t0 = performance.now()
    for (const request of requests) {
      const parsed = parseReference(request)
      if (parsed.ok && match(parsed.ref)) hits++
    }
    return { perSecond: total / ((performance.now() - t0) / 1000), hits }
  }
  // Both must decide every request the same way, or the comparison means nothing.
  for (const request of pool) {
    const parsed = parseReference(request)
    if (!parsed.ok)
      throw new Error(`allowlist bench: "${request}" does not parse: ${parsed.reason}`)
    if (Boolean(allowlist.match(parsed.ref)) !== Boolean(linear(parsed.ref))) {
      throw new Error(`allowlist bench: the matchers disagree on ${request}`)
    }
  }
  // Warm-up of both, then the figures.
  measure(ref => allowlist.match(ref))
  measure(linear)
  const action = measure(ref => allowlist.match(ref))
  const baseline = measure(linear)
  return {
    patterns: allowlist.patterns.length,
    parseMs: round(parseMs, 1),
    requests: total,
    allowedShare: round(action.hits / total, 2),
    matchesPerSecond: round(action.perSecond),
    linearScanPerSecond: round(baseline.perSecond),
    ratio: round(action.perSecond / baseline.perSecond, 1)
  }
}
