import { describe, expect, it } from '@jest/globals'
import {
  formatWindow,
  isBudget,
  isDeferred,
  isPullLimit,
  PullBudgets,
  readRateLimit,
  type PullHold
} from '../src/registry/pull-budget.js'
import { parseRecord } from '../src/copy/record.js'

describe('readRateLimit', () => {
  it("reads Docker Hub's headers: remaining, limit and the window", () => {
    expect(
      readRateLimit({ 'ratelimit-limit': '100;w=21600', 'ratelimit-remaining': '76;w=21600' })
    ).toEqual({ remaining: 76, limit: 100, windowSeconds: 21600 })
  })

  it('no remaining header: no budget applies', () => {
    expect(readRateLimit({ 'ratelimit-limit': '100;w=21600' })).toBeUndefined()
    expect(readRateLimit({})).toBeUndefined()
  })

  it('a header that is not a number reads as none; an over-long number is not trusted', () => {
    expect(readRateLimit({ 'ratelimit-remaining': 'lots' })).toBeUndefined()
    expect(readRateLimit({ 'ratelimit-remaining': '12345678901' })).toBeUndefined()
  })
})

describe('isPullLimit', () => {
  it("Docker Hub's words, or its headers at 0, on a 429", () => {
    const body = JSON.stringify({
      errors: [{ code: 'TOOMANYREQUESTS', message: 'You have reached your pull rate limit.' }]
    })
    expect(isPullLimit(429, {}, body)).toBe(true)
    expect(isPullLimit(429, { 'ratelimit-remaining': '0;w=21600' })).toBe(true)
  })

  it('a bare 429 (the abuse limit, any throttling) is not the pull limit; nor anything but 429', () => {
    expect(isPullLimit(429, {}, 'Too Many Requests')).toBe(false)
    expect(isPullLimit(429, { 'ratelimit-remaining': '3;w=21600' })).toBe(false)
    expect(isPullLimit(500, {}, 'pull rate limit')).toBe(false)
  })

  it('headers at 0 in a short window (GitLab counts per minute) are throttling, retried', () => {
    expect(isPullLimit(429, { 'ratelimit-remaining': '0;w=60' })).toBe(false)
    expect(isPullLimit(429, { 'ratelimit-remaining': '0' })).toBe(false)
  })
})

describe('isBudget', () => {
  it('only a stated window of an hour or more is a budget for the run', () => {
    expect(isBudget({ remaining: 5, windowSeconds: 21600 })).toBe(true)
    expect(isBudget({ remaining: 5, windowSeconds: 3600 })).toBe(true)
    expect(isBudget({ remaining: 5, windowSeconds: 60 })).toBe(false)
    expect(isBudget({ remaining: 5 })).toBe(false)
    expect(isBudget(undefined)).toBe(false)
  })
})

describe('PullBudgets', () => {
  const reading = (remaining: number) => ({ remaining, limit: 10, windowSeconds: 21600 })

  it('a registry without readings holds nothing and defers nothing', async () => {
    const budgets = new PullBudgets()
    const hold = await budgets.take('r.example', 1000)
    expect(
      await hold.settle(
        () => Promise.resolve('read'),
        () => false
      )
    ).toBe('read')
    expect(await budgets.fits('r.example', 1000)).toBe(true)
    expect(budgets.applies('r.example')).toBe(false)
  })

  it('takes what fits, waits for copies in flight, then defers what does not with a reason', async () => {
    const budgets = new PullBudgets()
    budgets.observe('hub', reading(4))
    const hold = await budgets.take('hub', 3)
    // The copy in flight might spend less than it holds, so this waits rather than defers.
    const pending = budgets.take('hub', 2, 'docker.io/library/nginx:1')
    await hold.settle(
      async () => budgets.observe('hub', reading(1)),
      () => true
    )
    await expect(pending).rejects.toThrow(
      'docker.io/library/nginx:1 needs 2 pull(s) from hub and 1 can be spent (1 of 10 pulls left per 6 h); not attempted, pulls come back within 6 h (the window hub gives); the next run takes it'
    )
  })

  it('waiters woken together never all take the same room', async () => {
    const budgets = new PullBudgets()
    budgets.observe('hub', reading(4))
    const first = await budgets.take('hub', 4)
    const taken: PullHold[] = []
    const deferred: unknown[] = []
    const waiting = [1, 2, 3].map(() =>
      budgets.take('hub', 2).then(
        hold => void taken.push(hold),
        (error: unknown) => void deferred.push(error)
      )
    )
    // The copy spent 2 of its 4: a reading says so, then its hold goes back.
    await first.settle(
      async () => budgets.observe('hub', reading(2)),
      () => true
    )
    await new Promise(resolve => setImmediate(resolve))
    expect(taken).toHaveLength(1)
    expect(deferred).toHaveLength(0)
    // Once that copy is done, nothing is in flight: the other two cannot fit, and are deferred.
    await taken[0]?.settle(
      async () => budgets.observe('hub', reading(0)),
      () => true
    )
    await Promise.all(waiting)
    expect(taken).toHaveLength(1)
    expect(deferred.map(isDeferred)).toEqual([true, true])
  })

  it('the lowest reading of the run is kept; the reserve is left alone', async () => {
    const budgets = new PullBudgets(3)
    budgets.observe('hub', reading(5))
    budgets.observe('hub', reading(9))
    expect(budgets.reading('hub')?.remaining).toBe(5)
    await (
      await budgets.take('hub', 2)
    ).settle(
      async () => budgets.observe('hub', reading(5)),
      () => true
    )
    await expect(budgets.take('hub', 3, 'an image')).rejects.toThrow(
      'an image needs 3 pull(s) from hub and 2 can be spent (5 of 10 pulls left per 6 h, 3 kept in reserve)'
    )
  })

  it('a 429 that says the limit is reached defers everything after it from that registry', async () => {
    const budgets = new PullBudgets()
    budgets.observe('hub', reading(50))
    const error = budgets.exhausted('hub', 'HTTP 429 for GET hub/a/manifests/1')
    expect(error.message).toBe(
      'hub said its pull limit is reached (HTTP 429 for GET hub/a/manifests/1); not attempted, pulls come back within 6 h (the window hub gives); the next run takes it'
    )
    await expect(budgets.take('hub', 1)).rejects.toThrow(/pull limit is reached/)
    expect(await budgets.fits('hub', 1)).toBe(false)
  })

  it('pulls whose use cannot be read count as spent', async () => {
    const budgets = new PullBudgets()
    budgets.observe('hub', reading(5))
    const hold = await budgets.take('hub', 3)
    // The read after the copy came back without a reading.
    await hold.settle(
      () => Promise.resolve(),
      () => false
    )
    expect(budgets.reading('hub')?.remaining).toBe(2)
    await expect(budgets.take('hub', 3, 'an index')).rejects.toThrow(
      'an index needs 3 pull(s) from hub and 2 can be spent (2 of 10 pulls left per 6 h); not attempted, pulls come back within 6 h (the window hub gives); the next run takes it'
    )
  })

  it("another request's reading arriving meanwhile does not settle this one's pulls", async () => {
    const budgets = new PullBudgets()
    budgets.observe('hub', reading(6))
    const hold = await budgets.take('hub', 4)
    // A reading came (from a request made before the copy's pulls), but not in this answer.
    await hold.settle(
      async () => budgets.observe('hub', reading(6)),
      () => false
    )
    expect(budgets.reading('hub')?.remaining).toBe(2)
  })

  it('a read that fails settles its pulls as spent, and its error is not swallowed', async () => {
    const budgets = new PullBudgets()
    budgets.observe('hub', reading(6))
    const hold = await budgets.take('hub', 4)
    await expect(
      hold.settle(
        () => Promise.reject(new Error('cut')),
        () => true
      )
    ).rejects.toThrow('cut')
    expect(budgets.reading('hub')?.remaining).toBe(2)
    // Settled once: a second settle gives nothing back and takes nothing more.
    await hold.settle(
      async () => budgets.observe('hub', reading(2)),
      () => true
    )
    expect(await budgets.fits('hub', 2)).toBe(true)
    expect(await budgets.fits('hub', 3)).toBe(false)
  })

  it('what could not fit even with nothing in flight is deferred at once, not after a wait', async () => {
    const budgets = new PullBudgets(1)
    budgets.observe('hub', reading(5))
    const inFlight = await budgets.take('hub', 2)
    await expect(budgets.take('hub', 5, 'an index')).rejects.toThrow(
      'an index needs 5 pull(s) from hub and 4 can be spent'
    )
    expect(await budgets.fits('hub', 5)).toBe(false)
    await inFlight.settle(
      async () => budgets.observe('hub', reading(3)),
      () => true
    )
  })

  it('a 429 with no reading still makes the registry counted, and everything after it waits', async () => {
    const budgets = new PullBudgets()
    expect(budgets.applies('hub')).toBe(false)
    budgets.exhausted('hub', 'the engine was refused: pull rate limit')
    expect(budgets.applies('hub')).toBe(true)
    await expect(budgets.take('hub', 1)).rejects.toThrow(
      "hub said its pull limit is reached (the engine was refused: pull rate limit); not attempted, pulls come back when hub's window moves on; the next run takes it"
    )
  })

  it('tasks of one registry run one at a time, a failed one not stopping the next', async () => {
    const budgets = new PullBudgets()
    const order: string[] = []
    const slow = budgets.oneAtATime('hub', async () => {
      order.push('a starts')
      await new Promise(resolve => setTimeout(resolve, 20))
      order.push('a ends')
      throw new Error('a failed')
    })
    const next = budgets.oneAtATime('hub', async () => void order.push('b runs'))
    const other = budgets.oneAtATime('ghcr', async () => void order.push('ghcr runs'))
    await expect(slow).rejects.toThrow('a failed')
    await Promise.all([next, other])
    expect(order).toEqual(['a starts', 'ghcr runs', 'a ends', 'b runs'])
  })

  it('windows read as people say them', () => {
    expect(formatWindow(21600)).toBe('6 h')
    expect(formatWindow(5400)).toBe('90 min')
    expect(formatWindow(45)).toBe('45 s')
  })
})

describe('parseRecord', () => {
  const good = {
    source: 'docker.io/library/nginx',
    sourceDigest: `sha256:${'a'.repeat(64)}`,
    offered: [
      { os: 'linux', architecture: 'amd64' },
      { os: 'linux', architecture: 'arm', variant: 'v7' }
    ],
    held: [{ os: 'linux', architecture: 'amd64' }]
  }

  it('reads a record the action wrote', () => {
    expect(parseRecord(JSON.stringify(good))).toEqual(good)
  })

  it.each([
    ['not JSON', '{'],
    ['not a string', 42],
    ['a malformed digest', JSON.stringify({ ...good, sourceDigest: 'sha256:abc' })],
    ['a platform without architecture', JSON.stringify({ ...good, held: [{ os: 'linux' }] })],
    ['nothing held', JSON.stringify({ ...good, held: [] })],
    [
      'a variant that is not text',
      JSON.stringify({ ...good, held: [{ os: 'l', architecture: 'a', variant: 7 }] })
    ],
    ['too long', JSON.stringify({ ...good, source: 'x'.repeat(20_000) })]
  ])('reads %s as no record', (_what, text) => {
    expect(parseRecord(text)).toBeUndefined()
  })
})
