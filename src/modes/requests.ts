/**
 * The first half of every job that reads requests: inputs → requests (a list,
 * or an issue) → allowed references → targets → plan, then compared with the
 * target and copied as far as the mode goes.
 */
import * as core from '@actions/core'
import * as fs from 'node:fs'
import { safeLog } from '../action/escape.js'
import type { Platforms, RequestInputs } from '../action/inputs.js'
import { displayPath } from '../action/paths.js'
import { parseAllowlist, type Allowlist } from '../allowlist/allowlist.js'
import { errorMessage } from '../common/errors.js'
import { mirror, targetRegistry, type Mirrored } from '../copy/session.js'
import { parseEntries, type ImageRequest } from '../image/entries.js'
import { isSyncFile, parseSyncFile } from '../image/sync-files.js'
import { readIssueRequest, type PendingIssueRequest } from '../issue/flow.js'
import { buildPlan } from '../plan/plan.js'
import { logResults } from '../report/summary.js'

function readRequests(inputs: RequestInputs): ImageRequest[] {
  const requests = parseEntries(inputs.images, 'images')
  if (inputs.imagesFile) {
    const text = fs.readFileSync(inputs.imagesFile, 'utf8')
    const name = displayPath(inputs.imagesFile)
    // skopeo sync's and regsync's YAML files are read as the entries they amount to.
    requests.push(
      ...(isSyncFile(inputs.imagesFile) ? parseSyncFile(text, name) : parseEntries(text, name))
    )
  }
  if (requests.length === 0) {
    throw new Error(
      'No image entries found in "images" or "images-file" (only blank lines and comments).'
    )
  }
  return requests
}

function readAllowlist(inputs: RequestInputs): Allowlist | undefined {
  if (!inputs.allowlist) return undefined
  const allowlist = parseAllowlist(
    fs.readFileSync(inputs.allowlist, 'utf8'),
    displayPath(inputs.allowlist)
  )
  core.info(`Allowlist ${allowlist.source}: ${allowlist.patterns.length} pattern(s)`)
  return allowlist
}

/** Issue requests without an allowlist: sources are read anonymously (open-mirror: true). */
export const isOpenMirror = (inputs: RequestInputs) => inputs.fromIssue && !inputs.allowlist

/**
 * An open mirror (issue requests, no allowlist) refuses sources on the target's own registry:
 * the target's credentials must never read what a stranger named into a public mirror.
 */
function openMirror(
  inputs: RequestInputs
): ((ref: { registry: string; repository: string }) => string | undefined) | undefined {
  if (!isOpenMirror(inputs)) return undefined
  const own = targetRegistry(inputs.target)
  return ref =>
    ref.registry === own
      ? `${ref.registry} is the mirror's own registry; an open mirror serves no image from it (the maintainers can add it to an allowlist)`
      : undefined
}

/**
 * How far a job takes the planned images: copy them, compare them with the target (a dry
 * run), compare them for legs that copy (a plan job: a platform subset found current without a
 * mirror record is marked for a leg to record, since this job writes nothing), or only
 * plan them (a dry run that contacts no registry).
 */
export type Extent = 'copy' | 'compare' | 'legs' | 'plan-only'

/** Plan, then compare and copy as far as `extent` says. */
async function planThenCopy(
  requests: ImageRequest[],
  inputs: RequestInputs,
  allowlist: Allowlist | undefined,
  extent: Extent,
  onAccepted?: (count: number) => Promise<void>
): Promise<Mirrored> {
  const open = openMirror(inputs)
  const results = buildPlan(requests, {
    target: inputs.target,
    template: inputs.rewrite,
    ...(allowlist ? { allowlist } : {}),
    ...(open ? { refuse: open } : {})
  })
  logResults(results)
  const planned = results.filter(r => r.status === 'planned').length
  if (planned === 0) return { expanded: results, results }
  await onAccepted?.(planned)
  if (extent === 'plan-only') {
    core.info('dry-run with skip-unchanged: false: no registry is contacted.')
    return { expanded: results, results }
  }
  core.startGroup(extent === 'copy' ? 'Copy' : 'Compare with the target')
  try {
    return await mirror(
      results,
      { ...inputs, dryRun: extent !== 'copy' },
      { anonymousSources: open !== undefined, leaveUnrecorded: extent === 'legs' }
    )
  } finally {
    core.endGroup()
  }
}

export interface PlannedRequests extends Mirrored {
  /** Platforms in force: the issue's choice, else the input. */
  platforms: Platforms
  /** Why the request as a whole cannot be served (said on the issue as it is). */
  problem?: string
  issue?: PendingIssueRequest
}

export function problemOf(problem: string | undefined): { problem?: string } {
  return problem ? { problem } : {}
}

/** Requests from the list or the issue, planned and taken as far as `extent`. */
export async function planRequests(
  inputs: RequestInputs,
  extent: Extent
): Promise<PlannedRequests> {
  const allowlist = readAllowlist(inputs)
  if (!inputs.fromIssue) {
    const done = await planThenCopy(readRequests(inputs), inputs, allowlist, extent)
    return { ...done, platforms: inputs.platforms }
  }
  const issue = readIssueRequest(inputs)
  const platforms = issue.platforms ?? inputs.platforms
  if (issue.problem || issue.skip) {
    return { expanded: [], results: [], platforms, issue, ...problemOf(issue.problem) }
  }
  // The accept comment is a courtesy: if it cannot be posted, the final answer says why.
  const accepted = (count: number) =>
    issue.accepted(count).catch((e: unknown) => core.warning(safeLog(String(e))))
  try {
    const done = await planThenCopy(
      issue.requests,
      { ...inputs, platforms },
      allowlist,
      extent,
      accepted
    )
    return { ...done, platforms, issue }
  } catch (error) {
    // A request that cannot be planned (a collision) is still answered on the issue.
    const problem = errorMessage(error)
    return { expanded: [], results: [], platforms, issue, problem }
  }
}
