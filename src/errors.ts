// Errors meant for the person running the workflow, and one way to print any error.

/** An error whose message is written for the person running the workflow. */
export class UserError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'UserError'
  }
}

/** An error as one line for a person: its name (when it has a real one) and its message. */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error)
  return error.name === 'Error' ? error.message : `${error.name}: ${error.message}`
}
