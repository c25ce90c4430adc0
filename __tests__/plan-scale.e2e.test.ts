/**
 * A plan at public-mirror scale: 10,000 entries (500 repositories of 20
 * tags), 9,500 already mirrored, planned by the bundled action against two
 * real docker-registry servers. It must give a valid matrix of at most
 * max-legs legs holding exactly the 500 images that changed. The time is
 * printed for the record, never asserted (these machines are small and noisy).
 */
import { afterAll, beforeAll, expect, it } from '@jest/globals'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { runActionAsync } from '../__fixtures__/action-runner.js'
import { ensureTools, startRegistry, type LocalRegistry } from '../scripts/lib/local-registry.mjs'
import { pushImage, tagImage } from '../scripts/lib/seed-images.mjs'

const REPOSITORIES = 500
const TAGS = 20
const STALE = 25 // repositories the target lacks: 25 × 20 = 500 images to copy

let source: LocalRegistry
let target: LocalRegistry

async function pool<T>(items: T[], width: number, task: (item: T) => Promise<unknown>) {
  let next = 0
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) await task(items[next++] as T)
    })
  )
}

beforeAll(async () => {
  await ensureTools()
  source = await startRegistry()
  target = await startRegistry()
  const tags = Array.from({ length: TAGS }, (_, t) => `v${t}`)
  const started = Date.now()
  // One image per repository, pushed once and then put under its other tags (one manifest
  // PUT each); the mirror gets the same image, so its digests match the source's.
  const [first, ...rest] = tags as [string, ...string[]]
  await pool(
    Array.from({ length: REPOSITORIES }, (_, r) => r),
    8,
    async r => {
      const repo = `org${r % 10}/app${r}`
      await pushImage(source.host, repo, first, { seed: repo })
      await tagImage(source.host, repo, first, rest)
      if (r < STALE) return
      const mirrored = `mirror/${source.host.replace(':', '_')}/${repo}`
      await pushImage(target.host, mirrored, first, { seed: repo })
      await tagImage(target.host, mirrored, first, rest)
    }
  )
  console.log(`seeded 10,000 + 9,500 images in ${(Date.now() - started) / 1000} s`)
}, 600_000)

afterAll(async () => {
  await source?.stop()
  await target?.stop()
})

it('plans 10,000 entries, 9,500 up to date, into a valid matrix of at most max-legs legs', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plan-scale-'))
  const lines = ['# 10,000 entries, as a public mirror keeps them']
  for (let r = 0; r < REPOSITORIES; r++) {
    const tags = Array.from({ length: TAGS }, (_, t) => `v${t}`)
    lines.push(`${source.host}/org${r % 10}/app${r}:${tags.join(',')}`)
  }
  const started = Date.now()
  const run = await runActionAsync(
    {
      mode: 'plan',
      'images-file': 'images.txt',
      target: `${target.host}/mirror`,
      'insecure-registries': `${source.host},${target.host}`,
      concurrency: '16',
      'results-dir': dir
    },
    { files: { 'images.txt': lines.join('\n') }, timeoutMs: 600_000 }
  )
  const seconds = (Date.now() - started) / 1000
  console.log(`plan of ${REPOSITORIES * TAGS} entries: ${seconds} s (legs ${run.outputs.legs})`)
  expect(run.stderr).toBe('')
  expect(run.code).toBe(0)
  expect(run.outputs).toMatchObject({
    unchanged: '9500',
    planned: '500',
    failed: '0',
    rejected: '0'
  })
  const matrix = JSON.parse(run.outputs.matrix ?? '') as {
    include: { leg: number; legs: number; images: number }[]
  }
  expect(matrix.include.length).toBe(16)
  expect(matrix.include.every((l, i) => l.leg === i + 1 && l.legs === 16)).toBe(true)
  expect(matrix.include.reduce((n, l) => n + l.images, 0)).toBe(500)
  // 25 repositories of 20 tags over 16 legs: whole repositories, so 20 or 40 images a leg.
  expect(new Set(matrix.include.map(l => l.images))).toEqual(new Set([20, 40]))
  // Small enough to pass as a job output (GitHub allows 1 MB for all of a job's outputs).
  expect(run.outputs.matrix?.length).toBeLessThan(4096)
}, 600_000)
