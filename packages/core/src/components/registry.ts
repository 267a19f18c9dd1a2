// Components by kind and type. An environment you can clone, extend and trim (as Benthos does).
import type { Component, ComponentKind } from './define.js'

export class ComponentRegistry {
  private readonly byKey = new Map<string, Component>()

  constructor(components: Iterable<Component> = []) {
    for (const c of components) this.register(c)
  }

  register(component: Component): this {
    this.byKey.set(`${component.kind}:${component.type}`, component)
    return this
  }

  get(kind: ComponentKind, type: string): Component | undefined {
    return this.byKey.get(`${kind}:${type}`)
  }

  list(kind?: ComponentKind): Component[] {
    return [...this.byKey.values()].filter((c) => !kind || c.kind === kind).sort((a, b) => a.type.localeCompare(b.type))
  }

  clone(): ComponentRegistry {
    return new ComponentRegistry(this.byKey.values())
  }
}
