/** GitHub's matrix expansion, and a job's `strategy` as this double runs it. */
import { truthy } from '@actions/expressions/result'
import type { TemplateToken } from '@actions/workflow-parser/templates/tokens/template-token'
import { isMapping } from '@actions/workflow-parser'
import { evaluateToken, fromData, type Scope } from './expressions.js'
import { UnsupportedError, type Json } from './types.js'

/** GitHub's matrix expansion: the product of the vectors, then `exclude`, then `include`. */
export function expandMatrix(matrix: Json): Record<string, Json>[] {
  if (!matrix || typeof matrix !== 'object' || Array.isArray(matrix)) {
    throw new Error('Unexpected value: a matrix must be a mapping')
  }
  const { include = [], exclude = [], ...vectors } = matrix
  if (!Array.isArray(include) || !Array.isArray(exclude)) {
    throw new Error('Unexpected value: include and exclude must be sequences')
  }
  let combos: Record<string, Json>[] = Object.keys(vectors).length > 0 ? [{}] : []
  for (const [key, values] of Object.entries(vectors)) {
    if (!Array.isArray(values) || values.length === 0) {
      throw new Error(`Matrix vector '${key}' does not contain any values`)
    }
    combos = combos.flatMap(c => values.map(v => ({ ...c, [key]: v })))
  }
  const same = (a: Json | undefined, b: Json | undefined) => JSON.stringify(a) === JSON.stringify(b)
  combos = combos.filter(
    c =>
      !exclude.some(
        e => e && typeof e === 'object' && Object.entries(e).every(([k, v]) => same(c[k], v))
      )
  )
  const original = combos.map(c => ({ ...c }))
  const extra: Record<string, Json>[] = []
  for (const entry of include as Record<string, Json>[]) {
    let added = false
    combos.forEach((combo, i) => {
      const base = original[i] as Record<string, Json>
      if (Object.entries(entry).every(([k, v]) => !(k in base) || same(base[k], v))) {
        Object.assign(combo, entry)
        added = true
      }
    })
    if (!added) extra.push({ ...entry })
  }
  const all = [...combos, ...extra]
  if (all.length === 0) throw new Error('Matrix must define at least one vector')
  if (all.length > 256) throw new Error(`Strategy produced more than 256 jobs (${all.length})`)
  return all
}

export interface Strategy {
  /** One per leg; a job without a strategy has one leg and no matrix. */
  legs: (Record<string, Json> | undefined)[]
  failFast: boolean
  maxParallel?: number
}

/** A job's `strategy` (its keys checked by the parser), evaluated with the job's header contexts. */
export function strategyOf(
  id: string,
  strategy: TemplateToken | undefined,
  scope: Scope
): Strategy {
  if (strategy === undefined) return { legs: [undefined], failFast: true }
  if (!isMapping(strategy)) throw new UnsupportedError(`jobs.${id}.strategy as one expression`)
  const legs = expandMatrix(fromData(evaluateToken(strategy.find('matrix'), scope)))
  const failFast = strategy.find('fail-fast')
  const maxParallel = strategy.find('max-parallel')
  return {
    legs,
    failFast: failFast === undefined ? true : truthy(evaluateToken(failFast, scope)),
    ...(maxParallel !== undefined
      ? { maxParallel: evaluateToken(maxParallel, scope).number() }
      : {})
  }
}
