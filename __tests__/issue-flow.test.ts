/** What an issue may choose: the maintainers' `issue-platforms` holds the platform choice. */
import { describe, expect, it } from '@jest/globals'
import { offeredPlatforms } from '../src/issue/flow.js'
import type { IssueRequest } from '../src/issue/request.js'

const parsed = (platforms?: IssueRequest['platforms']): IssueRequest => ({
  requests: [],
  notes: [],
  ignored: 0,
  ...(platforms ? { platforms } : {})
})

describe('offeredPlatforms', () => {
  it('any: the choice stands', () => {
    const p = parsed(['linux/s390x'])
    offeredPlatforms(p, { issuePlatforms: 'any', platforms: 'all' })
    expect(p).toEqual(parsed(['linux/s390x']))
  })

  it('none: the choice is set aside with a note, and the input applies', () => {
    const p = parsed(['linux/s390x'])
    offeredPlatforms(p, { issuePlatforms: 'none', platforms: 'all' })
    expect(p.platforms).toBeUndefined()
    expect(p.notes).toEqual([
      'the platform choice (linux/s390x) was set aside: this mirror copies all platforms for every request'
    ])
  })

  it('a list: a choice inside passes, one outside refuses the request naming what is offered', () => {
    const offered = { issuePlatforms: ['linux/amd64', 'linux/arm64'], platforms: 'all' as const }
    const inside = parsed(['linux/arm64'])
    offeredPlatforms(inside, offered)
    expect(inside.problem).toBeUndefined()
    const outside = parsed(['linux/arm64', 'linux/s390x'])
    offeredPlatforms(outside, offered)
    expect(outside.problem).toBe(
      'this mirror does not offer linux/s390x to issue requests; choose from linux/amd64, linux/arm64, or leave the platform out.'
    )
    const all = parsed('all')
    offeredPlatforms(all, offered)
    expect(all.problem).toMatch(/does not offer all/)
  })

  it('no choice, or a request already refused, is left as it is', () => {
    const none = parsed()
    offeredPlatforms(none, { issuePlatforms: ['linux/amd64'], platforms: 'all' })
    expect(none).toEqual(parsed())
    const refused = { ...parsed(['linux/s390x']), problem: 'too many images' }
    offeredPlatforms(refused, { issuePlatforms: ['linux/amd64'], platforms: 'all' })
    expect(refused.problem).toBe('too many images')
  })
})
