export const CRANE_MODULE: string
export const CRANE_VERSION: string
/** The version label the local release is served under (checksums.txt decides, nothing built in). */
export const CRANE_LABEL: string
export const TOOLS_DIR: string
export const GO_HELP: string

export function archiveName(platform?: NodeJS.Platform, arch?: string): string
export function findGo(): { go: string; version: string } | undefined
/** crane built at `version` (built now when missing); throws with GO_HELP without Go. */
export function buildCrane(options?: { version?: string; log?: (line: string) => void }): string
/** The built crane's path, or undefined; never builds. */
export function builtCrane(version?: string): string | undefined
export function packRelease(
  binary: string,
  name?: string
): { archive: string; checksums: string; sha256: string; name: string }

export interface ReleaseServer {
  /** Base of downloads, like https://github.com/google/go-containerregistry/releases/download */
  url: string
  label: string
  sha256: string
  archive: string
  /** The action's inputs that install this release: engine, crane-version, crane-url. */
  inputs: Record<string, string>
  requests(): { method: string; path: string }[]
  /** How many times the archive was fetched. */
  downloads(): number
  /** Serve an archive whose bytes differ from checksums.txt (or stop doing so). */
  tamper(on?: boolean): void
  close(): Promise<void>
}

export function startReleaseServer(options?: {
  binary?: string
  label?: string
}): Promise<ReleaseServer>
