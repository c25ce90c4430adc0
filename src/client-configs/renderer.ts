/**
 * What every client's renderer is given and gives back, and the small helpers
 * several of them share.
 */
import type { ConfigFile, ConfigNote, ConfigRequest } from './model.js'
import type { Layout } from './layout.js'
import { DOCKER_HUB } from '../image/references.js'

export interface Context {
  request: ConfigRequest
  insecure: (host: string) => boolean
  scheme: (host: string) => string
  header: string[]
}

export interface Rendered {
  files: ConfigFile[]
  notes: ConfigNote[]
}

/** One client's files and notes for the registries' layouts. */
export type Renderer = (layouts: readonly Layout[], c: Context) => Rendered

export function contextOf(request: ConfigRequest): Context {
  const { target, template } = request
  const insecureSet = new Set(request.insecureRegistries)
  return {
    request,
    insecure: host => insecureSet.has(host),
    scheme: host => (insecureSet.has(host) ? 'http' : 'https'),
    header: [
      `Written by Image Mirror: pulls try the mirror ${target} first, then the source registry.`,
      // eslint-disable-next-line no-control-regex -- keep the workflow's text on one comment line
      `Rewrite template: ${template.replace(/[\u0000-\u001f\u007f]/g, ' ')}`
    ]
  }
}

/** The host clients speak HTTP to: Docker Hub's API lives at registry-1.docker.io. */
export function apiHost(host: string): string {
  return host === DOCKER_HUB ? 'registry-1.docker.io' : host
}

export function toml(text: string): string {
  // Registry names are ASCII without quotes or backslashes; JSON escaping is valid TOML and YAML.
  return JSON.stringify(text)
}
