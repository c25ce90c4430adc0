/**
 * Pull budgets. Docker Hub meters pulls per client (an IP, or an account) in a
 * window: a GET of a manifest counts, a HEAD does not, and every answer says
 * what is left (`ratelimit-remaining: 76;w=21600`). Over the limit, a 429
 * says "You have reached your pull rate limit", and retrying cannot help
 * until the window moves on, hours later.
 *
 * So the budget is read from the answers (never assumed), every pull is taken
 * from it before it is made, and what does not fit is not attempted: it is
 * `deferred` to the next run. A registry whose answers carry no such headers,
 * or whose window is short (GitLab's are per minute: waiting is the answer
 * there, and the transport's retry does it), has no budget here.
 */
import { MirrorError } from '../common/errors.js'

/** What a registry's rate-limit headers said. */
export interface RateLimitReading {
  remaining: number
  limit?: number
  /** The window in seconds (`;w=21600`), when said. */
  windowSeconds?: number
}

type Headers = Record<string, string | string[] | undefined>

/** `76;w=21600` → 76 and 21600; undefined when the header is absent or not a number. */
function parseLimitHeader(
  value: string | string[] | undefined
): { n: number; w?: number } | undefined {
  const text = Array.isArray(value) ? value[0] : value
  const match = /^\s*(\d{1,9})(?!\d)\s*(?:;\s*w\s*=\s*(\d{1,9})(?!\d))?/.exec(text ?? '')
  if (!match) return undefined
  return { n: Number(match[1]), ...(match[2] ? { w: Number(match[2]) } : {}) }
}

/** The reading of an answer's headers; undefined when it has none (no budget applies). */
export function readRateLimit(headers: Headers): RateLimitReading | undefined {
  const remaining = parseLimitHeader(headers['ratelimit-remaining'])
  if (!remaining) return undefined
  const limit = parseLimitHeader(headers['ratelimit-limit'])
  const windowSeconds = remaining.w ?? limit?.w
  return {
    remaining: remaining.n,
    ...(limit ? { limit: limit.n } : {}),
    ...(windowSeconds ? { windowSeconds } : {})
  }
}

/** The shortest window worth budgeting: under it a refused pull is worth waiting for. */
export const BUDGET_WINDOW_SECONDS = 3600

/** Whether a reading is a pull budget for the run: a window of an hour or more, stated. */
export function isBudget(reading: RateLimitReading | undefined): reading is RateLimitReading {
  return (reading?.windowSeconds ?? 0) >= BUDGET_WINDOW_SECONDS
}

/** Whether an answer carried a budget's reading (which then counted the request's pulls). */
export function carriesBudget(headers: Headers): boolean {
  return isBudget(readRateLimit(headers))
}

/**
 * A 429 that says the pull budget is spent: Docker Hub's wording, or a budget's headers at 0.
 * A bare 429 (the abuse limit, a short window, any registry throttling requests) is not one:
 * it passes, to be retried after its Retry-After.
 */
export function isPullLimit(status: number, headers: Headers, body = ''): boolean {
  if (status !== 429) return false
  const reading = readRateLimit(headers)
  return /pull rate limit/i.test(body) || (isBudget(reading) && reading.remaining === 0)
}

/** `6 h`, `90 min`, `45 s`. */
export function formatWindow(seconds: number): string {
  if (seconds >= 3600 && seconds % 3600 === 0) return `${seconds / 3600} h`
  if (seconds >= 60 && seconds % 60 === 0) return `${seconds / 60} min`
  return `${seconds} s`
}

function describeReading(reading: RateLimitReading | undefined): string {
  if (!reading) return ''
  const of = reading.limit !== undefined ? ` of ${reading.limit}` : ''
  const window = reading.windowSeconds ? ` per ${formatWindow(reading.windowSeconds)}` : ''
  return `${reading.remaining}${of} pulls left${window}`
}

/**
 * An image not attempted because a registry's pull budget would not allow it:
 * not a failure, the next run takes it. Permanent for this run.
 */
export class PullBudgetError extends MirrorError {
  readonly deferred = true
  constructor(message: string) {
    super(message, true)
  }
}

export function isDeferred(error: unknown): error is PullBudgetError {
  return error instanceof PullBudgetError
}

/** When the window reopens, as a person reads it. */
function reopens(registry: string, reading: RateLimitReading | undefined): string {
  const within = reading?.windowSeconds
    ? `within ${formatWindow(reading.windowSeconds)} (the window ${registry} gives)`
    : `when ${registry}'s window moves on`
  return `pulls come back ${within}; the next run takes it`
}

/** Pulls held for a request or copy in flight, until what it spent can be read. */
export interface PullHold {
  /**
   * Make `read`, a request whose answer counts the pulls held (the GET itself, or a HEAD after a
   * copy), and settle: when its answer carried a reading (`counted` says), the held pulls go
   * back, that reading having counted them; otherwise (no reading, or the read failed) they
   * count as spent, so the budget errs on the side of fewer.
   */
  settle<T>(read: () => Promise<T>, counted: (answer: T) => boolean): Promise<T>
}

const NO_HOLD: PullHold = { settle: read => read() }

interface Budget {
  reading?: RateLimitReading
  /** Pulls taken by requests and copies still in flight. */
  inFlight: number
  /** Set once a 429 said the budget is spent: nothing more is asked of it in this run. */
  spent?: string
  waiting: (() => void)[]
}

/** The run's pull budgets, one per registry that sends rate-limit headers. */
export class PullBudgets {
  private readonly budgets = new Map<string, Budget>()
  /** Per registry, the last of the runs of `oneAtATime`. */
  private readonly turns = new Map<string, Promise<unknown>>()

  /** `reserve`: pulls left to other jobs sharing the budget (the same IP or account). */
  constructor(private readonly reserve = 0) {}

  private budget(registry: string): Budget {
    let budget = this.budgets.get(registry)
    if (!budget) {
      budget = { inFlight: 0, waiting: [] }
      this.budgets.set(registry, budget)
    }
    return budget
  }

  /**
   * A reading from an answer. The lowest remaining of the run is kept: answers arrive out of
   * order, and a window that reopens mid-run is simply not counted on.
   */
  observe(registry: string, reading: RateLimitReading): void {
    const budget = this.budget(registry)
    const remaining = Math.min(reading.remaining, budget.reading?.remaining ?? Infinity)
    budget.reading = { ...budget.reading, ...reading, remaining }
  }

  reading(registry: string): RateLimitReading | undefined {
    return this.budgets.get(registry)?.reading
  }

  /** Whether pulls from the registry are counted: a reading came, or a 429 said it is spent. */
  applies(registry: string): boolean {
    const budget = this.budgets.get(registry)
    return budget !== undefined && (budget.reading !== undefined || budget.spent !== undefined)
  }

  /** A 429 said the pull limit is reached: the rest from this registry waits for the next run. */
  exhausted(registry: string, detail: string): PullBudgetError {
    const budget = this.budget(registry)
    budget.spent ??= detail
    if (budget.reading) budget.reading = { ...budget.reading, remaining: 0 }
    const waiting = budget.waiting.splice(0)
    for (const wake of waiting) wake()
    return this.spentError(registry, budget)
  }

  private spentError(registry: string, budget: Budget): PullBudgetError {
    return new PullBudgetError(
      `${registry} said its pull limit is reached (${budget.spent ?? 'HTTP 429'}); not attempted, ${reopens(registry, budget.reading)}`
    )
  }

  /**
   * Take `cost` pulls from the registry's budget before spending them. While copies in flight
   * hold pulls they may not all spend, this waits for them; when the pulls cannot fit (the
   * reserve kept), it throws a PullBudgetError. No budget known: nothing is held.
   */
  async take(registry: string, cost: number, what = 'this image'): Promise<PullHold> {
    const budget = this.budgets.get(registry)
    if (!budget || !(await this.waitToFit(registry, budget, cost, what, true))) return NO_HOLD
    let settled = false
    const release = (spent: boolean) => {
      if (settled) return
      settled = true
      budget.inFlight -= cost
      if (spent && budget.reading) {
        const remaining = Math.max(0, budget.reading.remaining - cost)
        budget.reading = { ...budget.reading, remaining }
      }
      const waiting = budget.waiting.splice(0)
      for (const wake of waiting) wake()
    }
    return {
      settle: async (read, counted) => {
        let answered = false
        try {
          const answer = await read()
          answered = counted(answer)
          return answer
        } finally {
          release(!answered)
        }
      }
    }
  }

  /**
   * Run `task` when no other task for the registry runs: a copy learning its cost with a pull
   * of its own, so that copies waiting on the same budget do not all spend a read at once on
   * copies only one of them can make. Copies in flight are not held up by it.
   */
  oneAtATime<T>(registry: string, task: () => Promise<T>): Promise<T> {
    const before = this.turns.get(registry) ?? Promise.resolve()
    const turn = before.then(task, task)
    this.turns.set(
      registry,
      turn.catch(() => undefined)
    )
    return turn
  }

  /**
   * Whether `cost` pulls could be taken now (waiting, as take does, for copies in flight),
   * without taking them: asked before spending a pull to learn an exact cost.
   */
  async fits(registry: string, cost: number): Promise<boolean> {
    const budget = this.budgets.get(registry)
    if (!budget) return true
    try {
      await this.waitToFit(registry, budget, cost, 'this image', false)
      return true
    } catch (error) {
      if (error instanceof PullBudgetError) return false
      throw error
    }
  }

  /**
   * True once `cost` fits (taken at once when `take`: waiters woken together must not all see
   * the same room); false when no budget is known; throws when it cannot fit.
   */
  private async waitToFit(
    registry: string,
    budget: Budget,
    cost: number,
    what: string,
    take: boolean
  ): Promise<boolean> {
    for (;;) {
      if (budget.spent) throw this.spentError(registry, budget)
      if (!budget.reading) return false
      const spendable = budget.reading.remaining - this.reserve
      const free = spendable - budget.inFlight
      if (cost <= free) {
        if (take) budget.inFlight += cost
        return true
      }
      // Readings only go down in a run: what does not fit beside nothing in flight never will.
      if (budget.inFlight === 0 || cost > spendable) {
        const reserve = this.reserve > 0 ? `, ${this.reserve} kept in reserve` : ''
        throw new PullBudgetError(
          `${what} needs ${cost} pull(s) from ${registry} and ${Math.max(0, budget.reading.remaining - this.reserve)} can be spent (${describeReading(budget.reading)}${reserve}); not attempted, ${reopens(registry, budget.reading)}`
        )
      }
      await new Promise<void>(resolve => budget.waiting.push(resolve))
    }
  }
}
