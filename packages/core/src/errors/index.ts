// The error family: ModelcarError, core's codes and factories, diagnostics.
export { ModelcarError, isModelcarError, optionsOf, type ModelcarErrorOptions, type Phase, type HttpFacts } from './modelcar-error.js'
export { errors, type CoreErrorCode } from './core-errors.js'
export { formatDiagnostic, formatLocation, type Diagnostic, type SourceLocation } from './diagnostic.js'
