/** An error as one line for a person: its name (when it has a real one) and its message. */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error)
  return error.name === 'Error' ? error.message : `${error.name}: ${error.message}`
}
