// What every kit does first: name the component, check its declaration (kind, description,
// documented schema) and the config the test gave, and set up the step runner and contexts.
import type { Component, ComponentContext } from '@modelcar/core'
import { checkDeclaration, checkedConfig } from './check-config.js'
import { ComplianceError } from './compliance-error.js'
import { stepRunner, type Step } from './kit-step.js'
import { testContext } from './test-context.js'

export interface KitStart {
  type: string
  /** Ends the kit with a ComplianceError naming the component. */
  fail: (message: string) => never
  /** The config, checked and with its defaults, as create() receives it from a recipe. */
  cfg: Record<string, unknown>
  step: Step
  newContext: () => ComponentContext
}

export function startKit(
  component: Component,
  kind: Component['kind'],
  config: Record<string, unknown>,
  opts: { context?: () => ComponentContext; stepTimeoutMs?: number },
): KitStart {
  const type = typeof component?.type === 'string' ? component.type : '(no type)'
  const fail = (message: string): never => {
    throw new ComplianceError(type, message)
  }
  checkDeclaration(component, kind, fail)
  return {
    type,
    fail,
    cfg: checkedConfig(component, config, 'the config'),
    step: stepRunner(type, opts.stepTimeoutMs),
    newContext: opts.context ?? (() => testContext({ type })),
  }
}
