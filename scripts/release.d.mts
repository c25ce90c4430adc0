export interface ReleasePlan {
  problems: string[]
  tag: string
  major: string
  sha: string
  moves: string
  notes: string
}
export function releasePlan(input: {
  version: string
  packageVersion: string
  changelog: string
  existing: string[]
  sha: string
}): ReleasePlan
