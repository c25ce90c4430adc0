/**
 * Client configs: files that make container runtimes try the mirror first and
 * fall back to the source, so people can pull images by their usual names.
 * Pure: from the target, the rewrite template and the run's source
 * repositories to file contents, and plain notes on what a client cannot
 * express. Writing them is files.ts's job.
 */
import { DOCKER_HUB } from '../image/references.js'
import { renderTarget } from '../image/rewrite.js'

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

/** Where a mirrored repository lives: its registry host and its path there. */
interface Location {
  host: string
  path: string
}

/**
 * How one source registry's repositories land in the mirror: under one path
 * prefix (`prefix/<repository>`, which every client can express), or one by
 * one (only what lists repositories or rewrites by regex can express that).
 */
type Layout =
  | { kind: 'prefix'; registry: string; mirror: Location }
  | {
      kind: 'repositories'
      registry: string
      repositories: { repository: string; mirror: Location }[]
    }

// Probe repositories of one, two and three segments (an empty {namespace} folds away).
const PROBES = ['imprb', 'imprc/imprd', 'impre/imprf/imprg']

/**
 * The path prefix a template puts every repository of `registry` under, found
 * by rendering probe repositories with the real renderer; undefined when the
 * result is not `prefix/<repository>` for all of them.
 */
export function mirrorPrefix(
  template: string,
  target: string,
  registry: string
): Location | undefined {
  let found: Location | undefined
  for (const probe of PROBES) {
    const rendered = renderTarget(template, target, { registry, repository: probe })
    if (!rendered.ok) return undefined
    const { registry: host, repository } = rendered.repository
    if (repository !== probe && !repository.endsWith(`/${probe}`)) return undefined
    const path = repository.slice(0, repository.length - probe.length).replace(/\/$/, '')
    if (found && (found.host !== host || found.path !== path)) return undefined
    found = { host, path }
  }
  return found
}

function joinName(location: Location, repository = ''): string {
  return [location.host, location.path, repository].filter(Boolean).join('/')
}

/** The host clients speak HTTP to: Docker Hub's API lives at registry-1.docker.io. */
function apiHost(host: string): string {
  return host === DOCKER_HUB ? 'registry-1.docker.io' : host
}

function toml(text: string): string {
  // Registry names are ASCII without quotes or backslashes; JSON escaping is valid TOML and YAML.
  return JSON.stringify(text)
}

/** A Go (RE2) regular expression matching `text` literally. */
function literalRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

interface Context {
  request: ConfigRequest
  insecure: (host: string) => boolean
  scheme: (host: string) => string
  header: string[]
}

function registriesConf(layouts: Layout[], c: Context): string {
  const lines = [
    ...c.header.map(l => `# ${l}`),
    '# Install: /etc/containers/registries.conf.d/50-image-mirror.conf (podman, buildah, skopeo,',
    '# CRI-O), or try it: skopeo --registries-conf registries.conf inspect docker://IMAGE',
    '# Mirrors are used for pulls only; pushes still go to the source.'
  ]
  const entry = (prefix: string, mirror: Location, source: string) => {
    lines.push('', '[[registry]]', `prefix = ${toml(prefix)}`, `location = ${toml(prefix)}`)
    if (c.insecure(source)) lines.push('insecure = true')
    lines.push('', '[[registry.mirror]]', `location = ${toml(joinName(mirror))}`)
    if (c.insecure(mirror.host)) lines.push('insecure = true')
  }
  for (const layout of layouts) {
    if (layout.kind === 'prefix') entry(layout.registry, layout.mirror, layout.registry)
    else {
      for (const r of layout.repositories) {
        entry(`${layout.registry}/${r.repository}`, r.mirror, layout.registry)
      }
    }
  }
  return `${lines.join('\n')}\n`
}

function hostsToml(layout: Extract<Layout, { kind: 'prefix' }>, c: Context): string {
  const { host, path } = layout.mirror
  const base = `${c.scheme(host)}://${apiHost(host)}`
  // A URL with a path is taken as the API root: spell out /v2/ and keep the path as given.
  const url = path ? `${base}/v2/${path}` : base
  const lines = [
    ...c.header.map(l => `# ${l}`),
    `# Install: /etc/containerd/certs.d/${layout.registry}/hosts.toml, with config_path =`,
    '# "/etc/containerd/certs.d" in containerd\'s CRI registry section; or try it:',
    `# ctr images pull --hosts-dir <the certs.d folder holding ${layout.registry}/> IMAGE`,
    `server = ${toml(`${c.scheme(layout.registry)}://${apiHost(layout.registry)}`)}`,
    '',
    `[host.${toml(url)}]`,
    '  capabilities = ["pull", "resolve"]'
  ]
  if (path) lines.push('  override_path = true')
  return `${lines.join('\n')}\n`
}

function k3sRegistries(layouts: Layout[], c: Context, notes: ConfigNote[]): string | undefined {
  const lines = [
    ...c.header.map(l => `# ${l}`),
    '# Install: /etc/rancher/k3s/registries.yaml on every node, then restart k3s (k3s-agent).',
    '# Rewrites apply to the mirror only; the source (default endpoint) is tried last as is.',
    'mirrors:'
  ]
  let entries = 0
  for (const layout of layouts) {
    const rules: [string, string][] = []
    let host: string
    if (layout.kind === 'prefix') {
      host = layout.mirror.host
      if (layout.mirror.path) rules.push(['^(.*)$', `${layout.mirror.path}/\${1}`])
    } else {
      const hosts = [...new Set(layout.repositories.map(r => r.mirror.host))]
      // No repositories: said once for every client (see clientConfigs).
      if (hosts.length === 0) continue
      if (hosts.length > 1) {
        notes.push({
          client: 'k3s',
          text: `No entry for ${layout.registry}: its repositories land on several hosts (${hosts.join(', ')}), and one k3s mirror rewrites for all its endpoints alike.`
        })
        continue
      }
      host = hosts[0] as string
      for (const r of layout.repositories) {
        rules.push([`^${literalRegex(r.repository)}$`, r.mirror.path])
      }
    }
    entries++
    lines.push(`  ${toml(layout.registry)}:`, '    endpoint:')
    lines.push(`      - ${toml(`${c.scheme(host)}://${apiHost(host)}`)}`)
    if (rules.length > 0) {
      lines.push('    rewrite:')
      for (const [pattern, replacement] of rules) {
        lines.push(`      ${toml(pattern)}: ${toml(replacement)}`)
      }
    }
  }
  const plain = layouts.map(l => l.registry).filter(r => c.insecure(r))
  if (entries > 0 && plain.length > 0) {
    notes.push({
      client: 'k3s',
      text: `k3s falls back to ${plain.join(', ')} through its default endpoint, https://<registry>/v2: from a plain-HTTP source, an image the mirror lacks may not be found.`
    })
  }
  return entries > 0 ? `${lines.join('\n')}\n` : undefined
}

const DOCKER_EXPLANATION =
  "Docker: daemon.json's registry-mirrors applies to Docker Hub only, and takes a mirror URL as a registry root (Docker asks it for /v2/library/nginx/...), so it cannot use a mirror under a path prefix, nor mirror other registries."

function dockerConfig(layouts: Layout[], c: Context, notes: ConfigNote[]): string | undefined {
  const hub = layouts.find(l => l.registry === DOCKER_HUB)
  const rewritten =
    'Pull the mirrored names instead (the `mirrored` output), e.g. docker pull ' +
    `${c.request.target}/...; docker tag gives an image its usual name back.`
  if (!hub) {
    notes.push({
      client: 'docker',
      text: `${DOCKER_EXPLANATION} Docker Hub is not among the registries, so no daemon.json is written. ${rewritten}`
    })
    return undefined
  }
  if (hub.kind !== 'prefix' || hub.mirror.path !== '' || hub.mirror.host === DOCKER_HUB) {
    const where =
      hub.kind === 'prefix'
        ? `Docker Hub images are mirrored under ${joinName(hub.mirror)}/, not at a registry root`
        : 'the rewrite template maps Docker Hub repositories one by one'
    notes.push({
      client: 'docker',
      text: `${DOCKER_EXPLANATION} Here ${where}, so no daemon.json is written. ${rewritten}`
    })
    return undefined
  }
  const host = hub.mirror.host
  const config: Record<string, string[]> = {
    'registry-mirrors': [`${c.scheme(host)}://${host}`]
  }
  if (c.insecure(host)) config['insecure-registries'] = [host]
  const others = layouts.filter(l => l !== hub).map(l => l.registry)
  notes.push({
    client: 'docker',
    text:
      `daemon.json makes Docker try ${host} for Docker Hub images; merge it into /etc/docker/daemon.json and restart Docker.` +
      (others.length > 0
        ? ` Docker cannot mirror other registries (${others.join(', ')}): pull their mirrored names.`
        : '')
  })
  return `${JSON.stringify(config, null, 2)}\n`
}

/** Every client config the mirror layout allows, for the run's registries and the extra ones. */
export function clientConfigs(request: ConfigRequest): ClientConfigs {
  const { target, template } = request
  const notes: ConfigNote[] = []

  // The files describe the template; they must also describe what the run did.
  const mismatch = request.mappings.find(m => {
    const rendered = renderTarget(template, target, m.source)
    return !rendered.ok || rendered.name !== m.target
  })
  if (mismatch) {
    const rendered = renderTarget(template, target, mismatch.source)
    const gives = rendered.ok ? rendered.name : 'no valid name'
    notes.push({
      client: 'all',
      text: `No client config was written: ${mismatch.source.registry}/${mismatch.source.repository} was mirrored to ${mismatch.target}, but the rewrite template "${template}" with target "${target}" gives ${gives}. Give this job the same target and rewrite as the job that planned the run.`
    })
    return { registries: [], files: [], notes }
  }

  const registries = [
    ...new Set([...request.mappings.map(m => m.source.registry), ...request.registries])
  ].sort()
  if (registries.length === 0) {
    notes.push({
      client: 'all',
      text: 'No client config was written: no image of this run was mirrored and config-registries names no registry.'
    })
    return { registries, files: [], notes }
  }

  const layouts: Layout[] = registries.map(registry => {
    const mirror = mirrorPrefix(template, target, registry)
    if (mirror) return { kind: 'prefix', registry, mirror }
    const repositories = [
      ...new Set(
        request.mappings.filter(m => m.source.registry === registry).map(m => m.source.repository)
      )
    ]
      .sort()
      .map(repository => {
        const rendered = renderTarget(template, target, { registry, repository })
        // Checked above: every repository of the run renders to what it was mirrored to.
        if (!rendered.ok) throw new Error(rendered.reason)
        return {
          repository,
          mirror: { host: rendered.repository.registry, path: rendered.repository.repository }
        }
      })
    return { kind: 'repositories', registry, repositories }
  })

  const insecureSet = new Set(request.insecureRegistries)
  const c: Context = {
    request,
    insecure: host => insecureSet.has(host),
    scheme: host => (insecureSet.has(host) ? 'http' : 'https'),
    header: [
      `Written by Image Mirror: pulls try the mirror ${target} first, then the source registry.`,
      // eslint-disable-next-line no-control-regex -- keep the workflow's text on one comment line
      `Rewrite template: ${template.replace(/[\u0000-\u001f\u007f]/g, ' ')}`
    ]
  }

  const files: ConfigFile[] = []
  const byRepository = layouts.filter(l => l.kind === 'repositories')
  if (byRepository.length > 0) {
    const listed = byRepository.map(l => l.repositories.length).reduce((a, b) => a + b, 0)
    const empty = byRepository.filter(l => l.repositories.length === 0).map(l => l.registry)
    notes.push({
      client: 'all',
      text:
        `The rewrite template "${template}" does not keep each registry's repositories under one path prefix, so registries.conf and registries.yaml list the ${listed} repositories of this run one by one (${byRepository.map(l => l.registry).join(', ')}); repositories mirrored later need the files written again.` +
        (empty.length > 0
          ? ` Nothing is listed for ${empty.join(', ')}: this run mirrored no repository from it.`
          : '')
    })
  }

  const containersLayouts = layouts.filter(l => l.kind === 'prefix' || l.repositories.length > 0)
  if (containersLayouts.length > 0) {
    files.push({
      client: 'containers',
      path: CONFIG_PATHS.containers,
      content: registriesConf(containersLayouts, c)
    })
  }

  for (const layout of layouts) {
    if (layout.kind === 'prefix') {
      files.push({
        client: 'containerd',
        path: `${CONFIG_PATHS.containerd}/${layout.registry}/hosts.toml`,
        content: hostsToml(layout, c)
      })
    }
  }
  if (byRepository.length > 0) {
    notes.push({
      client: 'containerd',
      text: `No hosts.toml for ${byRepository.map(l => l.registry).join(', ')}: containerd can only put one path prefix in front of every repository of a registry (override_path), and the rewrite template "${template}" does not keep the repository path under one. Pull the mirrored names instead.`
    })
  }

  const k3s = k3sRegistries(layouts, c, notes)
  if (k3s) files.push({ client: 'k3s', path: CONFIG_PATHS.k3s, content: k3s })

  const docker = dockerConfig(layouts, c, notes)
  if (docker) files.push({ client: 'docker', path: CONFIG_PATHS.docker, content: docker })

  return { registries, files, notes }
}

/** How to put each client's files in place, as shell lines (`dir` is config-dir as given). */
export function installCommands(client: Client, dir: string, configs: ClientConfigs): string[] {
  const q = (path: string) => `'${`${dir.replace(/\/+$/, '')}/${path}`.replace(/'/g, `'\\''`)}'`
  const example = (registry: string) =>
    registry === DOCKER_HUB ? 'docker.io/library/busybox:latest' : `${registry}/<repository>:<tag>`
  const first = configs.registries.includes(DOCKER_HUB)
    ? DOCKER_HUB
    : (configs.registries[0] ?? DOCKER_HUB)
  switch (client) {
    case 'containers':
      return [
        `sudo install -D -m 644 ${q(CONFIG_PATHS.containers)} /etc/containers/registries.conf.d/50-image-mirror.conf`,
        `skopeo inspect --no-tags docker://${example(first)}   # tries the mirror first`
      ]
    case 'containerd':
      return [
        `sudo mkdir -p /etc/containerd/certs.d && sudo cp -R ${q(CONFIG_PATHS.containerd)}/. /etc/containerd/certs.d/`,
        '# CRI: set config_path = "/etc/containerd/certs.d" under [plugins."io.containerd.grpc.v1.cri".registry], then: sudo systemctl restart containerd',
        `sudo ctr images pull --hosts-dir /etc/containerd/certs.d ${example(first)}`
      ]
    case 'k3s':
      return [
        `sudo install -D -m 600 ${q(CONFIG_PATHS.k3s)} /etc/rancher/k3s/registries.yaml`,
        'sudo systemctl restart k3s   # k3s-agent on agent nodes'
      ]
    case 'docker':
      return [
        `# merge ${q(CONFIG_PATHS.docker)} into /etc/docker/daemon.json, then:`,
        'sudo systemctl restart docker'
      ]
  }
}
