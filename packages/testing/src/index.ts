// @modelcar/testing: the conformance kit for component authors. Works under any test runner: a
// broken rule throws an AssertionError naming the component and the rule.
export { assertSourceCompliance, type SourceComplianceOptions, type SourceComplianceReport, type ListedFile } from './source-compliance.js'
export { assertTransformCompliance, type TransformComplianceOptions, type TransformComplianceReport } from './transform-compliance.js'
export { assertSinkCompliance, type SinkComplianceOptions, type SinkComplianceReport } from './sink-compliance.js'
export { kitPlan, KIT_SOURCE } from './kit-plan.js'
export { memorySink, memorySinkSchema, MemoryStore, type MemorySinkComponent, type CommittedImage } from './memory-sink.js'
export { testContext, type TestContext, type TestContextOptions } from './test-context.js'
export { DEFAULT_STEP_TIMEOUT_MS } from './kit-step.js'
export { RUNTIME_ENV } from './env-watch.js'
export { ComplianceError } from './compliance-error.js'
