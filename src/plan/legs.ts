/**
 * Legs: the images a plan must copy, split over at most `max-legs` matrix
 * jobs. All tags of one repository go to one leg (their blobs are shared, so
 * one engine uploads them once, and two legs never push the same repository);
 * repositories are dealt out largest first to the leg with the fewest images,
 * so legs end within one repository of each other.
 */
import { groupByRepository, type MirrorResult } from '../image/results.js'

/** One leg as a `strategy.matrix` entry: which leg, of how many, with how many images. */
export interface MatrixLeg {
  leg: number
  legs: number
  images: number
}

export interface Matrix {
  include: MatrixLeg[]
}

/**
 * Indices of the results to copy (status `planned`, or as `include` says), split into at most
 * `maxLegs` legs; each leg lists its indices in plan order. No leg is empty.
 */
export function splitIntoLegs(
  results: readonly MirrorResult[],
  maxLegs: number,
  include: (result: MirrorResult, index: number) => boolean = r => r.status === 'planned'
): number[][] {
  const groups = groupByRepository(results, include)
  const count = Math.min(Math.max(1, maxLegs), groups.length)
  const legs: number[][] = Array.from({ length: count }, () => [])
  // Largest first; ties keep plan order, so the same list always gives the same legs.
  const ordered = [...groups].sort((a, b) => b.length - a.length)
  for (const group of ordered) {
    let smallest = legs[0] as number[]
    for (const leg of legs) if (leg.length < smallest.length) smallest = leg
    smallest.push(...group)
  }
  return legs.map(leg => leg.sort((a, b) => a - b))
}

/** The `matrix` output: `{"include": []}` when there is nothing to copy. */
export function matrixOf(legs: readonly number[][]): Matrix {
  return {
    include: legs.map((leg, i) => ({ leg: i + 1, legs: legs.length, images: leg.length }))
  }
}
