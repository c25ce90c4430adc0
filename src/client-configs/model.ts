/**
 * What client configs are made from and what they come to: the shapes shared
 * by render.ts, the mirror layout and each client's renderer, kept apart so
 * those modules need not import render.ts, which imports them.
 */

export const CLIENTS = ['containers', 'containerd', 'k3s', 'docker'] as const
export type Client = (typeof CLIENTS)[number]

/** Where each client's file goes under config-dir (`<registry>/hosts.toml` below containerd's). */
export const CONFIG_PATHS = {
  containers: 'registries.conf',
  containerd: 'containerd/certs.d',
  k3s: 'k3s/registries.yaml',
  docker: 'docker/daemon.json'
} as const satisfies Record<Client, string>

export interface Repo {
  registry: string
  repository: string
}

/** A source repository of the run and the repository it was mirrored to (`host/path`). */
export interface Mapping {
  source: Repo
  target: string
}

export interface ConfigRequest {
  /** Normalised target, `host[:port][/path]`. */
  target: string
  /** The rewrite template. */
  template: string
  /** Registries spoken to over plain HTTP (the mirror's host and sources alike). */
  insecureRegistries: readonly string[]
  /** The run's images (rejected ones left out). */
  mappings: readonly Mapping[]
  /** More source registries to write configs for (the `config-registries` input). */
  registries: readonly string[]
}

export interface ConfigFile {
  client: Client
  /** Relative to config-dir, `/`-separated. */
  path: string
  content: string
}

export interface ConfigNote {
  client: Client | 'all'
  text: string
}

export interface ClientConfigs {
  /** Source registries covered, sorted. */
  registries: string[]
  files: ConfigFile[]
  /** What a client cannot express or what a file leaves out, said plainly. */
  notes: ConfigNote[]
}
