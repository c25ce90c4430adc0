/**
 * Tag policies through the bundled action (issue 20), with every engine, against a real
 * registry holding a few hundred tags: the tags library/nginx has published from 1.28 on, and
 * its words (`latest`, `mainline`, ...), as __fixtures__/tags/nginx.txt lists them, each
 * pointing at one of four images (one per minor release). Each policy copies exactly what a
 * plainer rule over the same list selects; a tag two policies select is copied once; the
 * summary says what each policy chose and left out; a re-run finds everything up to date
 * without one manifest GET on the source.
 */
import { afterAll, beforeAll, expect, it } from '@jest/globals'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'
import { resultsOf, runActionAsync } from '../__fixtures__/action-runner.js'
import { describeEngines, engine } from '../__fixtures__/engines.js'
import { ensureTools, startRegistry, type LocalRegistry } from '../scripts/lib/local-registry.mjs'
import { pushImage, tagImage } from '../scripts/lib/seed-images.mjs'

const here = path.dirname(fileURLToPath(import.meta.url))
const ALL = fs
  .readFileSync(path.join(here, '..', '__fixtures__', 'tags', 'nginx.txt'), 'utf8')
  .split('\n')
  .filter(line => line && !line.startsWith('#'))
/** 1.28 on, and the words: a few hundred tags. */
const TAGS = ALL.filter(t => /^1\.(2[89]|3\d)([.-]|$)/.test(t) || /^[a-z]/.test(t))

const triple = (tag: string) => /^(\d+)\.(\d+)\.(\d+)$/.exec(tag)?.slice(1).map(Number)
const compare = (a: number[], b: number[]) => a[0]! - b[0]! || a[1]! - b[1]! || a[2]! - b[2]!
const plain = TAGS.filter(t => triple(t))
const newestPlain = [...plain].sort((a, b) => compare(triple(b)!, triple(a)!))

/** What each policy must select, by a plainer rule than the code under test. */
const POLICIES: { policy: string; expected: string[] }[] = [
  {
    policy: 'semver(>=1.29.6 <1.30.2)',
    expected: plain.filter(
      t => compare(triple(t)!, [1, 29, 6]) >= 0 && compare(triple(t)!, [1, 30, 2]) < 0
    )
  },
  {
    policy: '/^1\\.\\d+\\.\\d+-alpine$/ newest(2)',
    expected: (() => {
      const alpine = TAGS.filter(t => /^1\.\d+\.\d+-alpine$/.test(t))
      const versions = [...new Set(alpine.map(t => t.replace('-alpine', '')))]
        .sort((a, b) => compare(triple(b)!, triple(a)!))
        .slice(0, 2)
      return alpine.filter(t => versions.includes(t.replace('-alpine', '')))
    })()
  },
  {
    // The newest is excluded, so newest(2) gives the two after it.
    policy: `newest(2) exclude(${newestPlain[0]})`,
    expected: newestPlain.slice(1, 3)
  },
  // 1.30.0 is the first policy's too: copied once.
  { policy: 'semver(>=1.30.0 <1.30.1)', expected: ['1.30.0'] }
]

let source: LocalRegistry
let target: LocalRegistry

describeEngines('tag policies against a registry with a few hundred tags', () => {
  beforeAll(async () => {
    await ensureTools()
    source = await startRegistry()
    target = await startRegistry()
    // One image per minor release; the words point at the newest.
    const images = new Map<string, string>()
    for (const minor of ['1.28', '1.29', '1.30', '1.31']) {
      const pushed = await pushImage(source.host, 'library/nginx', `${minor}-base`, {
        seed: `nginx-${minor}`
      })
      images.set(minor, pushed.digest)
    }
    const byMinor = new Map<string, string[]>()
    for (const tag of TAGS) {
      const minor = /^1\.(\d+)/.exec(tag)?.[0] ?? '1.31'
      byMinor.set(minor, [...(byMinor.get(minor) ?? []), tag])
    }
    for (const [minor, tags] of byMinor) {
      await tagImage(source.host, 'library/nginx', `${minor}-base`, tags)
    }
  }, 180_000)

  afterAll(async () => {
    await source?.stop()
    await target?.stop()
  })

  it('each policy copies exactly what it selects; a re-run costs no manifest GET', async () => {
    expect(TAGS.length).toBeGreaterThan(300)
    for (const { expected } of POLICIES) expect(expected.length).toBeGreaterThan(0)
    const prefix = `policies-${engine.name}`
    const inputs = {
      images: POLICIES.map(p => `${source.host}/library/nginx:${p.policy}`).join('\n'),
      target: `${target.host}/${prefix}`,
      ...engine.inputs(),
      'insecure-registries': `${source.host},${target.host}`
    }
    const run = await runActionAsync(inputs, { timeoutMs: 300_000 })
    expect(run.code).toBe(0)
    const results = resultsOf(run)
    const union = [...new Set(POLICIES.flatMap(p => p.expected))].sort()
    // One image per tag, whichever policies chose it.
    expect(results.map(r => r.source.split(':').pop()).sort()).toEqual(union)
    expect(results.every(r => r.status === 'copied')).toBe(true)
    for (const { policy, expected } of POLICIES) {
      const chosen = results
        .filter(r =>
          (r.note ?? '').split('; ').some(n => n.replace(/^also /, '') === `matched ${policy}`)
        )
        .map(r => r.source.split(':').pop())
        .sort()
      expect({ policy, chosen }).toEqual({ policy, chosen: [...expected].sort() })
    }
    // The mirror holds those tags and no others.
    const listed = (await (
      await fetch(
        `http://${target.host}/v2/${prefix}/${source.host.replace(':', '_')}/library/nginx/tags/list`
      )
    ).json()) as { tags: string[] }
    expect(listed.tags.sort()).toEqual(union)
    // The summary says what each policy chose of the tags listed, and what it left out.
    expect(run.summary).toContain('<h3>Tag policies</h3>')
    expect(run.summary.replace(/<wbr>/g, '')).toMatch(
      new RegExp(
        `semver\\(&gt;=1\\.29\\.6 &lt;1\\.30\\.2\\)</code>: \\d+ of ${TAGS.length + 4} tag\\(s\\) selected`
      )
    )
    expect(run.summary).toMatch(/left out \d+ a variant/)

    // Again: everything up to date, and the source asked for no manifest, only HEADs.
    source.clearLog()
    const again = await runActionAsync(inputs, { timeoutMs: 300_000 })
    expect(again.code).toBe(0)
    expect(resultsOf(again).map(r => r.status)).toEqual(union.map(() => 'unchanged'))
    const requests = source.requests()
    expect(requests.filter(r => r.method === 'GET' && r.path.includes('/manifests/'))).toEqual([])
    // The tag list read once for all four policies (and once more, for the repository's
    // signature tags: see docs/signatures.md).
    expect(requests.filter(r => r.path.includes('/tags/list')).length).toBe(2)
    expect(
      requests.filter(r => r.method === 'HEAD' && r.path.includes('/manifests/')).length
    ).toBeGreaterThanOrEqual(union.length)
  })
})
