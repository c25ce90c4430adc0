// A wide-area link on loopback, for the bench: a TCP proxy in front of a
// registry that delays every byte by half a round trip each way and paces
// each direction to a rate shared by all connections through it, as one
// runner's link to one registry would. This machine's kernel has no netem;
// the profile a run got is measured (measureLink), not assumed. Types in
// wan-proxy.d.mts.
import * as http from 'node:http'
import * as net from 'node:net'

/** Bytes a connection may have queued in one direction before its reading pauses. */
const MAX_QUEUED = 4 * 1024 * 1024

/**
 * One direction of the link: a chunk leaves when the previous ones have been
 * serialised at `bytesPerMs`, and arrives `delayMs` later.
 */
class Direction {
  constructor(bytesPerMs, delayMs) {
    /** Every byte that went this way, for the bench's bytes pushed and pulled. */
    this.bytes = 0
    this.bytesPerMs = bytesPerMs
    this.delayMs = delayMs
    this.free = 0
  }

  /** When a chunk of `size` bytes sent now arrives (ms, performance.now()). */
  arrival(size) {
    const now = performance.now()
    this.free = Math.max(now, this.free) + size / this.bytesPerMs
    return this.free + this.delayMs
  }
}

/** Forward `from` to `to` through `direction`, in order, pausing `from` while too much is queued. */
function pipeThrough(from, to, direction) {
  let queued = 0
  let last = Promise.resolve()
  from.on('data', chunk => {
    direction.bytes += chunk.length
    const at = direction.arrival(chunk.length)
    queued += chunk.length
    if (queued > MAX_QUEUED) from.pause()
    // Arrival times only grow, so each chunk waits for the one before it and then its own time.
    last = last.then(
      () =>
        new Promise(resolve =>
          setTimeout(
            () => {
              if (!to.destroyed) to.write(chunk)
              queued -= chunk.length
              if (queued <= MAX_QUEUED / 2 && from.isPaused()) from.resume()
              resolve()
            },
            Math.max(0, at - performance.now())
          )
        )
    )
  })
  // An end or a close travels like the data before it: after its delay, not ahead of it (a
  // registry's last answer before it closes must still arrive).
  let ended = false
  from.on('end', () => {
    ended = true
    last = last.then(() => to.end())
  })
  from.on('close', () => {
    if (!ended) last = last.then(() => to.destroy())
  })
}

/**
 * Start a proxy on 127.0.0.1 in front of `target` (`host:port`) with a round trip of `rttMs`
 * and `mbitPerSecond` each way. Resolves with its `host` (`127.0.0.1:<port>`) and `close()`.
 */
export async function startWanProxy({ target, rttMs = 40, mbitPerSecond = 200 }) {
  const [targetHost, targetPort] = [
    target.slice(0, target.lastIndexOf(':')),
    Number(target.slice(target.lastIndexOf(':') + 1))
  ]
  const bytesPerMs = (mbitPerSecond * 1e6) / 8 / 1000
  const up = new Direction(bytesPerMs, rttMs / 2)
  const down = new Direction(bytesPerMs, rttMs / 2)
  const sockets = new Set()
  const server = net.createServer(client => {
    client.setNoDelay(true)
    const upstream = net.connect({ host: targetHost, port: targetPort, noDelay: true })
    for (const s of [client, upstream]) {
      sockets.add(s)
      s.on('close', () => sockets.delete(s))
      // A reset is passed on by the close that follows it, after the queued data.
      s.on('error', () => {})
    }
    pipeThrough(client, upstream, up)
    pipeThrough(upstream, client, down)
  })
  await new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', resolve)
  })
  const { port } = server.address()
  return {
    host: `127.0.0.1:${port}`,
    rttMs,
    mbitPerSecond,
    /** Bytes sent to the registry and received from it through this link so far (headers too). */
    bytes: () => ({ toRegistry: up.bytes, fromRegistry: down.bytes }),
    close: () =>
      new Promise(resolve => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      })
  }
}

/**
 * The link a proxy gives, measured: the median round trip of `/v2/` over a kept-alive
 * connection (`samples` of them), and the rate of one GET of `blobPath` from its first byte.
 */
export async function measureLink(host, blobPath, samples = 9) {
  const times = []
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
  const get = path =>
    new Promise((resolve, reject) => {
      const started = performance.now()
      http
        .get({ host: host.split(':')[0], port: Number(host.split(':')[1]), path, agent }, res => {
          let bytes = 0
          let first
          res.on('data', d => {
            first ??= performance.now()
            bytes += d.length
          })
          res.on('end', () => {
            const end = performance.now()
            // The rate from the first byte on: the round trip before it is the RTT's share.
            resolve({ ms: end - started, streamMs: end - (first ?? end), bytes })
          })
        })
        .on('error', reject)
    })
  try {
    await get('/v2/') // the connection itself, not counted
    for (let i = 0; i < samples; i++) times.push((await get('/v2/')).ms)
    const blob = await get(blobPath)
    times.sort((a, b) => a - b)
    return {
      rttMs: Number(times[Math.floor(times.length / 2)].toFixed(1)),
      mbitPerSecond: Number(((blob.bytes * 8) / 1e6 / (blob.streamMs / 1000)).toFixed(0)),
      probeBytes: blob.bytes
    }
  } finally {
    agent.destroy()
  }
}
