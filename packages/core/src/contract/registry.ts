// Components by kind and type. An environment you can clone, extend and trim (as Benthos does).
import type { Component, ComponentKind } from './component.js'

export type ComponentOfKind<K extends ComponentKind> = Extract<Component, { kind: K }>

export class ComponentRegistry {
  private readonly byKey = new Map<string, Component>()

  constructor(components: Iterable<Component> = []) {
    for (const c of components) this.register(c)
  }

  register(component: Component): this {
    this.byKey.set(`${component.kind}:${component.type}`, component)
    return this
  }

  get<K extends ComponentKind>(kind: K, type: string): ComponentOfKind<K> | undefined {
    return this.byKey.get(`${kind}:${type}`) as ComponentOfKind<K> | undefined
  }

  list<K extends ComponentKind>(kind?: K): ComponentOfKind<K>[] {
    return [...this.byKey.values()]
      .filter((c) => !kind || c.kind === kind)
      .sort((a, b) => a.type.localeCompare(b.type)) as ComponentOfKind<K>[]
  }

  clone(): ComponentRegistry {
    return new ComponentRegistry(this.byKey.values())
  }
}
