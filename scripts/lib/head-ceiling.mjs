// The registries' own ceiling for planning, run in a process of its own (as
// the action is, away from the bench's access-log parsing): for every image,
// HEAD the source manifest then the target's, over N keep-alive connections,
// and check that the digests agree, as planning does.
//   node head-ceiling.mjs SOURCE_HOST TARGET_HOST CONNECTIONS PAIRS.json
// PAIRS.json: [[sourceRepository, targetRepository, tag], ...]. Prints JSON:
// { seconds, cpuMs, unchanged }.
import * as fs from 'node:fs'
import { eachLimit, registryClient } from './bench-images.mjs'

const [sourceHost, targetHost, connections, file] = process.argv.slice(2)
const pairs = JSON.parse(fs.readFileSync(file, 'utf8'))
const n = Number(connections)
const src = registryClient(sourceHost, { connections: n })
const dst = registryClient(targetHost, { connections: n })
const cpu = process.cpuUsage()
const started = performance.now()
let unchanged = 0
await eachLimit(pairs, n, async ([from, to, tag]) => {
  const a = await src.headManifest(from, tag)
  const b = await dst.headManifest(to, tag)
  if (a && a === b) unchanged++
})
const seconds = (performance.now() - started) / 1000
const used = process.cpuUsage(cpu)
src.close()
dst.close()
console.log(JSON.stringify({ seconds, cpuMs: (used.user + used.system) / 1000, unchanged }))
