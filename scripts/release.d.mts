export interface ReleasePlan {
  problems: string[]
  tag: string
  major: string
  sha: string
  /** The release is made (false: already tagged at this commit). */
  release: boolean
  moves: string
  notes: string
}
export function releasePlan(input: {
  version: string
  packageVersion: string
  changelog: string
  /** Tag → the commit it points at. */
  existing: Record<string, string>
  sha: string
}): ReleasePlan
