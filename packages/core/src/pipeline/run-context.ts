// What the engine gives each component of a run (its context) and how it calls them: every hook
// runs under guard(), so whatever a component throws comes out naming the component and phase.
import type { BaseInstance, ComponentKind, SinkInstance, SourceInstance, TransformInstance } from '../contract/component.js'
import type { ComponentContext, Logger } from '../contract/context.js'
import type { RunEvent } from '../contract/events.js'
import { errors } from '../errors/core-errors.js'
import type { Phase } from '../errors/modelcar-error.js'
import type { ComponentEntry } from '../recipe/component-entries.js'

/** A created component. `type` is the component's own (a plugin named by package has a short one). */
export interface Created<I> {
  type: string
  instance: I
}

export interface ContextSettings {
  baseDir: string
  env: Readonly<Record<string, string | undefined>>
  signal: AbortSignal
  concurrency: number
  fetch: typeof globalThis.fetch
  emit: (event: RunEvent) => void
  secret: (value: string) => void
}

export function contextFor(type: string, s: ContextSettings): ComponentContext {
  return {
    type,
    logger: loggerFor(type, s.emit),
    signal: s.signal,
    concurrency: s.concurrency,
    baseDir: s.baseDir,
    env: s.env,
    fetch: s.fetch,
    emit: s.emit,
    secret: s.secret,
  }
}

/** Runs a component hook; anything it throws comes out as a ModelcarError naming the component and phase. */
export async function guard<T>(type: string, phase: Phase, fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn()
  } catch (err) {
    throw errors.componentFailed(type, phase, err)
  }
}

type InstanceOf<K extends ComponentKind> = K extends 'source'
  ? SourceInstance
  : K extends 'transform'
    ? TransformInstance
    : K extends 'sink'
      ? SinkInstance
      : BaseInstance

export async function createAll<K extends ComponentKind>(
  entries: readonly ComponentEntry<K>[],
  s: ContextSettings,
): Promise<Created<InstanceOf<K>>[]> {
  type I = InstanceOf<K>
  const out: Created<I>[] = []
  for (const entry of entries) {
    const type = entry.component.type
    const instance = await guard(type, 'create', () => entry.component.create(entry.config as never, contextFor(type, s)) as I | Promise<I>)
    out.push({ type, instance })
  }
  return out
}

function loggerFor(type: string, emit: (e: RunEvent) => void): Logger {
  return {
    debug: (message) => emit({ type: 'log', level: 'debug', message, component: type }),
    info: (message) => emit({ type: 'log', level: 'info', message, component: type }),
    warn: (message) => emit({ type: 'warning', message, component: type }),
  }
}
