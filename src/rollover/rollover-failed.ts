import { UserError } from '../errors.ts'

/** A run that ended without the new version verified; the message says what runs now. */
export class RolloverFailed extends UserError {}
