/** The one error type of the library: bad input, a missing adapter, a lost device. */
export class LossError extends Error {
  override readonly name = 'LossError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
