import { CodecError } from '../../lib/codec';

/** `code: message` of the CodecError `run` throws, or what it did instead. */
export function codecFailure(run: () => unknown): string {
  try {
    run();
  } catch (e) {
    return e instanceof CodecError ? `${e.code}: ${e.message}` : `not a CodecError: ${String(e)}`;
  }
  return 'no failure';
}
