export const TOOLS_DIR: string
export const GO_HELP: string
export const REGSYNC_MODULE: string
export const REGSYNC_VERSION: string
export function findGo(): { go: string; version: string } | undefined
/** The built tool's path, or undefined; never builds. */
export function builtGoTool(name: string, version: string): string | undefined
/** `name` built from `module` at `version` (built now when missing); throws with GO_HELP without Go. */
export function buildGoTool(options: {
  name: string
  module: string
  version: string
  log?: (line: string) => void
}): string
/** A test program of this repository's own, built from its folder (cached by a hash of its files). */
export function buildLocalGoTool(options: {
  name: string
  dir: string
  log?: (line: string) => void
}): string
/** The built local program's path, or undefined; never builds. */
export function builtLocalGoTool(options: { name: string; dir: string }): string | undefined
export function buildRegsync(options?: { log?: (line: string) => void }): string
/** The built regsync's path, or undefined; never builds. */
export function builtRegsync(): string | undefined
export const COSIGN_MODULE: string
export const COSIGN_VERSION: string
/** cosign built from its module (minutes when cold). */
export function buildCosign(options?: { log?: (line: string) => void }): string
/** The built cosign's path, or undefined; never builds. */
export function builtCosign(): string | undefined
export const MASTERMINDS_SEMVER_VERSION: string
/** tools/masterminds-semver (Masterminds/semver as skopeo sync calls it), built from its folder. */
export function buildMastermindsSemver(options?: { log?: (line: string) => void }): string
/** The built masterminds-semver's path, or undefined; never builds. */
export function builtMastermindsSemver(): string | undefined
