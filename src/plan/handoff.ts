/**
 * Hand-off between the jobs of a matrix run, as files under `results-dir`
 * (uploaded and downloaded as artifacts, since matrix legs cannot share job
 * outputs): the plan job writes `plan.json`, each copy leg writes
 * `results-leg-<N>.json`, and the report job merges them so that every image
 * of the plan is accounted for exactly once.
 */
import * as fs from 'node:fs'
import * as path from 'node:path'
import type { IssueRecord } from '../issue/flow.js'
import { STATUSES, type MirrorResult } from '../image/results.js'
import { errorMessage } from '../common/errors.js'
import type { PolicyRecord } from '../verify/policy.js'

const PLAN_FORMAT = 'image-mirror-plan/1'
const LEG_FORMAT = 'image-mirror-leg/1'
export const PLAN_FILE = 'plan.json'

/** What the plan job decided, and everything a leg needs to copy its share without planning again. */
export interface PlanFile {
  format: typeof PLAN_FORMAT
  /** Ties legs' results to this plan: files from another run are ignored. */
  id: string
  created: string
  target: string
  platforms: 'all' | string[]
  dryRun: boolean
  /** Why the request as a whole was refused (an issue request, a collision). */
  problem?: string
  /** The issue as the plan read it: the report answers from this, with the plan's settings. */
  issue?: IssueRecord
  /** Legs read every source anonymously (an open mirror's issue request). */
  anonymousSources?: boolean
  /** Every image, in plan order: final for those the plan settled (unchanged, rejected, failed). */
  results: MirrorResult[]
  /** Per leg, indices into `results` of the images it copies, as they were before comparison. */
  legs: number[][]
  /** The images of `legs`, by index, as a leg must start from them (status `planned`). */
  work: Record<number, MirrorResult>
  /**
   * Indices the plan found up to date (`unchanged` in `results`) and gave a leg only to write
   * their mirror records: whatever becomes of the leg, they stay up to date.
   */
  current?: number[]
  /** The signature policy, keys and all, for legs that check out only the action. */
  policy?: PolicyRecord
}

export interface LegFile {
  format: typeof LEG_FORMAT
  plan: string
  leg: number
  legs: number
  finished: string
  results: { index: number; result: MirrorResult }[]
}

export function legFileName(leg: number): string {
  return `results-leg-${leg}.json`
}

export class HandoffError extends Error {}

function readJson(file: string): unknown {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as unknown
  } catch (error) {
    throw new HandoffError(`${file} cannot be read as JSON: ${errorMessage(error)}`)
  }
}

function writeJson(dir: string, name: string, data: unknown): string {
  fs.mkdirSync(dir, { recursive: true })
  const file = path.join(dir, name)
  // Written whole, then renamed: an upload never sees half a file.
  fs.writeFileSync(`${file}.partial`, JSON.stringify(data))
  fs.renameSync(`${file}.partial`, file)
  return file
}

export function writePlan(dir: string, plan: Omit<PlanFile, 'format'>): string {
  return writeJson(dir, PLAN_FILE, { format: PLAN_FORMAT, ...plan })
}

/** Files named `name` under `dir`, at any depth (artifacts may be downloaded into subfolders). */
function findFiles(dir: string, match: (name: string) => boolean): string[] {
  if (!fs.existsSync(dir)) return []
  return (fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }) as string[])
    .filter(relative => match(path.basename(relative)))
    .map(relative => path.join(dir, relative))
    .filter(file => fs.statSync(file).isFile())
    .sort()
}

/** The plan under `dir`; an error that says how to get it there when it is missing or ambiguous. */
export function readPlan(dir: string): PlanFile {
  const files = findFiles(dir, name => name === PLAN_FILE)
  if (files.length === 0) {
    throw new HandoffError(
      `no ${PLAN_FILE} under results-dir ${dir}: download the plan job's artifact into results-dir before this step`
    )
  }
  const plans = files.map(file => {
    const data = readJson(file) as Partial<PlanFile>
    if (
      data.format !== PLAN_FORMAT ||
      !Array.isArray(data.results) ||
      !Array.isArray(data.legs) ||
      typeof data.work !== 'object'
    ) {
      throw new HandoffError(
        `${file} is not a plan written by this action (format ${String(data.format)})`
      )
    }
    return data as PlanFile
  })
  const ids = new Set(plans.map(p => p.id))
  if (ids.size > 1) {
    throw new HandoffError(
      `results-dir ${dir} holds plans of different runs (${files.join(', ')}); give each run a clean results-dir`
    )
  }
  return plans[0] as PlanFile
}

/** The images of one leg, as the leg starts from them. */
export function legWork(plan: PlanFile, leg: number): { index: number; result: MirrorResult }[] {
  const indices = plan.legs[leg - 1]
  if (!indices) {
    throw new HandoffError(
      `leg ${leg} is not in the plan, which has ${plan.legs.length} leg(s); pass leg: \${{ matrix.leg }}`
    )
  }
  return indices.map(index => {
    const result = plan.work[index]
    if (!result)
      throw new HandoffError(`the plan lists image ${index} in leg ${leg} but not what it is`)
    return { index, result }
  })
}

export function writeLegResults(
  dir: string,
  plan: PlanFile,
  leg: number,
  results: { index: number; result: MirrorResult }[]
): string {
  const data: LegFile = {
    format: LEG_FORMAT,
    plan: plan.id,
    leg,
    legs: plan.legs.length,
    finished: new Date().toISOString(),
    results
  }
  return writeJson(dir, legFileName(leg), data)
}

export interface Merged {
  results: MirrorResult[]
  /** Legs whose results were not found: their images are counted as failed. */
  missing: number[]
  /** What was passed over (files of other runs, duplicates), for the log. */
  warnings: string[]
}

/** The plan's results with every leg's results in place; a missing leg's images fail. */
export function mergeResults(plan: PlanFile, dir: string): Merged {
  const warnings: string[] = []
  const byLeg = new Map<number, LegFile>()
  for (const file of findFiles(dir, name => /^results-leg-\d+\.json$/.test(name))) {
    const data = readJson(file) as Partial<LegFile>
    if (data.format !== LEG_FORMAT || !Array.isArray(data.results) || !data.leg) {
      warnings.push(`${file} is not a leg's results file; passed over`)
      continue
    }
    if (data.plan !== plan.id) {
      warnings.push(`${file} belongs to another plan (${String(data.plan)}); passed over`)
      continue
    }
    const earlier = byLeg.get(data.leg)
    if (earlier) {
      warnings.push(`leg ${data.leg} reported twice; the later results are used`)
      if (earlier.finished > (data.finished ?? '')) continue
    }
    byLeg.set(data.leg, data as LegFile)
  }

  const results = plan.results.map(r => ({ ...r }))
  const current = new Set(Array.isArray(plan.current) ? plan.current : [])
  const missing: number[] = []
  plan.legs.forEach((indices, i) => {
    const leg = i + 1
    const file = byLeg.get(leg)
    if (!file) missing.push(leg)
    const reported = new Map<number, unknown>()
    for (const entry of (file?.results ?? []) as unknown[]) {
      const { index, result } = (entry ?? {}) as { index?: unknown; result?: unknown }
      if (typeof index === 'number') reported.set(index, result)
    }
    for (const index of indices) {
      const planned = plan.work[index] ?? (results[index] as MirrorResult)
      const checked = reported.has(index)
        ? checkLegResult(reported.get(index), planned, plan.dryRun)
        : undefined
      if (checked && 'problem' in checked) {
        warnings.push(`leg ${leg}: image ${index} ${checked.problem}; counted as failed`)
      }
      const result = checked && 'result' in checked ? checked.result : undefined
      const settled = current.has(index) ? (results[index] as MirrorResult) : undefined
      // Up to date already: a leg that did not get as far as its record changes nothing else.
      if (settled && result?.status !== 'unchanged' && result?.status !== 'copied') {
        const why =
          result?.reason ?? (file ? 'its leg did not report it' : 'its leg never reported')
        const note = [settled.note, `its mirror record was not written (${why})`]
        results[index] = { ...settled, note: note.filter(Boolean).join('; ') }
        continue
      }
      results[index] = result ?? {
        ...planned,
        status: 'failed',
        reason: checked
          ? `leg ${leg} of ${plan.legs.length} reported something that is not this image as planned`
          : file
            ? `leg ${leg} of ${plan.legs.length} did not report this image`
            : `leg ${leg} of ${plan.legs.length} never reported its results (its job failed or was cancelled before writing them, or its artifact was not downloaded into results-dir)`
      }
    }
  })
  return { results, missing, warnings }
}

/** Statuses a leg may report: it copies, compares or fails (and in a dry run, plans). */
const LEG_STATUSES = new Set<string>(STATUSES)
const DIGEST = /^(?:sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128})$/
const PLATFORM = /^[a-z0-9_]+\/[a-z0-9_]+(?:\/[a-z0-9_.]+)?$/
/** Longest reason or note taken from a leg; longer is cut, not trusted to fit an answer. */
const MAX_TEXT = 2000

/**
 * A leg's result, rebuilt from the planned image and the fields a leg may
 * set, each checked: a results file is an artifact any job of the run (or a
 * bug) could have written, and it ends up in the summary, the outputs and an
 * answer on a stranger's issue.
 */
export function checkLegResult(
  value: unknown,
  planned: MirrorResult,
  dryRun = false
): { result: MirrorResult } | { problem: string } {
  if (!value || typeof value !== 'object') return { problem: 'is not a result' }
  const r = value as Record<string, unknown>
  const own = (key: string) => (Object.hasOwn(r, key) ? r[key] : undefined)
  const status = own('status')
  if (typeof status !== 'string' || !LEG_STATUSES.has(status)) {
    return { problem: `has an unknown status ${JSON.stringify(String(status)).slice(0, 40)}` }
  }
  // Only a dry run leaves an image planned; otherwise "planned" would be answered as mirrored.
  if (status === 'planned' && !dryRun) return { problem: 'is still planned in a run that copies' }
  for (const key of ['request', 'source', 'target'] as const) {
    if (own(key) !== planned[key]) return { problem: `has another ${key} than the plan` }
  }
  const result: MirrorResult = { ...planned, status: status as MirrorResult['status'] }
  delete result.reason
  delete result.note
  const digest = own('digest')
  const sourceDigest = own('sourceDigest')
  if (digest !== undefined && (typeof digest !== 'string' || !DIGEST.test(digest))) {
    return { problem: 'has a malformed digest' }
  }
  if (typeof digest === 'string') result.digest = digest
  if (typeof sourceDigest === 'string' && DIGEST.test(sourceDigest)) {
    result.sourceDigest = sourceDigest
  }
  for (const key of ['reason', 'note'] as const) {
    const text = own(key)
    if (typeof text === 'string' && text) {
      result[key] = text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT - 1)}…` : text
    }
  }
  const platforms = own('platforms')
  if (Array.isArray(platforms) && platforms.every(p => typeof p === 'string' && PLATFORM.test(p))) {
    result.platforms = (platforms as string[]).slice(0, 64)
  }
  for (const key of ['size', 'seconds'] as const) {
    const n = own(key)
    if (typeof n === 'number' && Number.isFinite(n) && n >= 0) result[key] = n
  }
  if ((status === 'failed' || status === 'rejected' || status === 'deferred') && !result.reason) {
    result.reason = `the leg reported it ${status} without a reason`
  }
  return { result }
}
