// Component configs as create() receives them: validated, with every default applied. A field
// declared with withDefault() is therefore always set, and its type says so.
import { Type, type Static, type TObject, type TOptional, type TSchema } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import { errors } from '../errors/core-errors.js'

declare const defaulted: unique symbol

/** An optional field whose default the engine fills in: present in every config create() sees. */
export type TWithDefault<T extends TSchema> = TOptional<T> & { readonly [defaulted]: true }

/**
 * An optional field with a default: `revision: withDefault(Type.String({ description: '…' }), 'main')`.
 * The recipe may leave it out; `create()` gets the default, typed as present. The default is
 * shown on the generated reference page.
 */
export function withDefault<T extends TSchema>(schema: T, value: Static<T>): TWithDefault<T> {
  return Type.Optional({ ...schema, default: value }) as unknown as TWithDefault<T>
}

// The brand exists in types only: nothing reads it at run time.
type DefaultedKeys<S extends TObject> = {
  [K in keyof S['properties']]: S['properties'][K] extends { readonly [defaulted]: true } ? K : never
}[keyof S['properties']]

type Flatten<T> = { [K in keyof T]: T[K] } & {}

/** The config create() receives: the schema's type, with fields declared withDefault() required. */
export type Config<S extends TObject> = Flatten<
  Omit<Static<S>, DefaultedKeys<S>> & { [K in DefaultedKeys<S> & keyof Static<S>]-?: Exclude<Static<S>[K], undefined> }
>

/**
 * A config as the engine hands it to create(): `raw` with the schema's defaults filled in, checked
 * against the schema. For tests and tools that create a component without a recipe; a config
 * that does not fit throws COMPONENT_INVALID naming each problem.
 */
export function configFor<S extends TObject>(
  component: { type: string; schema: S },
  raw: Partial<Static<S>> | Record<string, unknown>,
): Config<S> {
  const value = Value.Default(component.schema, structuredClone(raw)) as Record<string, unknown>
  const problems = [...Value.Errors(component.schema, value)].map((e) => `${e.path || '/'}: ${e.message}`)
  if (problems.length) throw errors.componentInvalid(component.type, `the config does not fit the schema: ${problems.join('; ')}`)
  return value as Config<S>
}
