/**
 * `${{ }}` expressions, evaluated by GitHub's own evaluator (@actions/expressions)
 * over the values the parser read: @actions/workflow-parser has already split
 * `text ${{ expr }} text` into one expression (`format('text {0} text', expr)`),
 * added the implicit `success() && (...)` to every `if:` that calls no status
 * function, and checked each expression's syntax and the contexts its key allows.
 */
import { data, Evaluator, Lexer, Parser } from '@actions/expressions'
import type { FunctionDefinition } from '@actions/expressions/funcs/info'
import { truthy } from '@actions/expressions/result'
import {
  isBasicExpression,
  isBoolean,
  isMapping,
  isNumber,
  isSequence,
  isString
} from '@actions/workflow-parser'
import type { BasicExpressionToken } from '@actions/workflow-parser/templates/tokens/index'
import type { TemplateToken } from '@actions/workflow-parser/templates/tokens/template-token'
import { TokenType } from '@actions/workflow-parser/templates/tokens/types'
import { UnsupportedError, type Json } from './types.js'

type Data = data.ExpressionData

/** Status functions; job-level ones look at the ancestor jobs, step-level ones at the job so far. */
export function statusFunctions(succeeded: () => boolean, failed: () => boolean) {
  const define = (name: string, value: () => boolean): FunctionDefinition => ({
    name,
    minArgs: 0,
    maxArgs: 0,
    call: () => new data.BooleanData(value())
  })
  return [
    define('always', () => true),
    define('success', succeeded),
    define('failure', failed),
    // Nothing here is ever cancelled by a user.
    define('cancelled', () => false)
  ]
}

/** Plain JSON → the evaluator's data. */
export function toData(value: unknown): Data {
  return JSON.parse(JSON.stringify(value ?? null), data.reviver) as Data
}

/** The evaluator's data → plain JSON. */
export function fromData(value: Data): Json {
  switch (value.kind) {
    case data.Kind.Null:
      return null
    case data.Kind.Boolean:
      return (value as data.BooleanData).value
    case data.Kind.Number:
      return (value as data.NumberData).value
    case data.Kind.String:
      return (value as data.StringData).value
    case data.Kind.Array:
      return (value as data.Array).values().map(fromData)
    default:
      return Object.fromEntries(
        (value as data.Dictionary).pairs().map(p => [p.key, fromData(p.value)])
      )
  }
}

/** What an expression may see: context name → value, and the functions beyond the built-in ones. */
export interface Scope {
  contexts: Record<string, unknown>
  functions?: FunctionDefinition[]
}

export function evaluate(expression: string, scope: Scope): Data {
  const { tokens } = new Lexer(expression).lex()
  const functions = scope.functions ?? []
  const ast = new Parser(tokens, Object.keys(scope.contexts), functions).parse()
  const dictionary = new data.Dictionary(
    ...Object.entries(scope.contexts).map(([key, value]) => ({ key, value: toData(value) }))
  )
  const map = new Map(functions.map(f => [f.name.toLowerCase(), f]))
  return new Evaluator(ast, dictionary, map).evaluate()
}

/** A mapping's literal key (the keys this double reads are never expressions). */
export function keyOf(key: TemplateToken): string {
  if (!isString(key)) throw new UnsupportedError(`a mapping key ${key.toString()}`)
  return key.value
}

/** A value as read by the parser: a whole expression keeps its type, literals are themselves. */
export function evaluateToken(token: TemplateToken | undefined, scope: Scope): Data {
  if (token === undefined || token.templateTokenType === TokenType.Null) return new data.Null()
  if (isBasicExpression(token)) return evaluate(token.expression, scope)
  if (isString(token)) return new data.StringData(token.value)
  if (isNumber(token)) return new data.NumberData(token.value)
  if (isBoolean(token)) return new data.BooleanData(token.value)
  if (isSequence(token)) return new data.Array(...[...token].map(t => evaluateToken(t, scope)))
  if (isMapping(token)) {
    return new data.Dictionary(
      ...[...token].map(p => ({ key: keyOf(p.key), value: evaluateToken(p.value, scope) }))
    )
  }
  // ${{ insert }} and whatever else a later parser may hand over.
  throw new UnsupportedError(`the value ${token.toString()}`)
}

/** A value as the string an action, an env variable or an output gets ('' when not given). */
export function evaluateString(token: TemplateToken | undefined, scope: Scope): string {
  if (token === undefined) return ''
  return evaluateToken(token, scope).coerceString()
}

/** A mapping's entries, key → its value's token (none when not given). */
export function entriesOf(token: TemplateToken | undefined): [string, TemplateToken][] {
  if (token === undefined) return []
  if (!isMapping(token)) throw new UnsupportedError(`${token.toString()} where a mapping goes`)
  return [...token].map(p => [keyOf(p.key), p.value])
}

/** An `if:` as the parser converted it (a status function guaranteed). */
export function evaluateCondition(condition: BasicExpressionToken, scope: Scope): boolean {
  return truthy(evaluate(condition.expression, scope))
}
