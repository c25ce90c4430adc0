/**
 * Client configs: files that make container runtimes try the mirror first and
 * fall back to the source, so people can pull images by their usual names.
 * Pure: from the target, the rewrite template and the run's source
 * repositories to file contents, and plain notes on what a client cannot
 * express. layout.ts works out where the template puts each registry's
 * repositories; each client's file is one renderer (containers.ts,
 * containerd.ts, k3s.ts, docker.ts). Writing them is files.ts's job.
 */
import {
  CLIENTS,
  CONFIG_PATHS,
  type Client,
  type ClientConfigs,
  type ConfigFile,
  type ConfigNote,
  type ConfigRequest
} from './model.js'
import { byRepositoryNote, layoutsOf, templateMismatch } from './layout.js'
import { contextOf, type Renderer } from './renderer.js'
import { renderContainers } from './containers.js'
import { renderContainerd } from './containerd.js'
import { renderK3s } from './k3s.js'
import { renderDocker } from './docker.js'
import { DOCKER_HUB } from '../image/references.js'

// The public names stay importable from here.
export * from './model.js'
export { mirrorPrefix } from './layout.js'

// Rendered in CLIENTS order, which is the order of files and notes in the result.
const RENDERERS = {
  containers: renderContainers,
  containerd: renderContainerd,
  k3s: renderK3s,
  docker: renderDocker
} as const satisfies Record<Client, Renderer>

/** Every client config the mirror layout allows, for the run's registries and the extra ones. */
export function clientConfigs(request: ConfigRequest): ClientConfigs {
  const mismatch = templateMismatch(request)
  if (mismatch) return { registries: [], files: [], notes: [mismatch] }

  const registries = [
    ...new Set([...request.mappings.map(m => m.source.registry), ...request.registries])
  ].sort()
  if (registries.length === 0) {
    const text =
      'No client config was written: no image of this run was mirrored and config-registries names no registry.'
    return { registries, files: [], notes: [{ client: 'all', text }] }
  }

  const layouts = layoutsOf(request, registries)
  const c = contextOf(request)
  const files: ConfigFile[] = []
  const notes: ConfigNote[] = []
  const shared = byRepositoryNote(layouts, request.template)
  if (shared) notes.push(shared)
  for (const client of CLIENTS) {
    const rendered = RENDERERS[client](layouts, c)
    files.push(...rendered.files)
    notes.push(...rendered.notes)
  }
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
