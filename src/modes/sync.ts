/** Mode sync: plan, copy and report in one job. */
import type { SyncInputs } from '../action/inputs.js'
import { publishResults, writeClientConfigs } from './publish.js'
import { planRequests, problemOf, type Extent } from './requests.js'

export async function runSync(inputs: SyncInputs): Promise<void> {
  const extent: Extent = !inputs.dryRun ? 'copy' : inputs.skipUnchanged ? 'compare' : 'plan-only'
  const { results, problem, issue } = await planRequests(inputs, extent)
  await publishResults(results, {
    dryRun: inputs.dryRun,
    failOnDeferred: inputs.failOnDeferred,
    ...problemOf(problem),
    ...(issue ? { issue } : {}),
    ...writeClientConfigs(inputs, results)
  })
}
