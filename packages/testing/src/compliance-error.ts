// What the kit throws: an AssertionError (vitest, node:test and mocha all report it as a failed
// assertion) whose message starts with the component's type and says which rule it broke.
import { AssertionError } from 'node:assert'

export class ComplianceError extends AssertionError {
  constructor(type: string, message: string) {
    super({ message: `[${type}] not compliant: ${message}` })
  }
}
