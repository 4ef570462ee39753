/** Why a payload could not be encoded or decoded. Messages never carry key material or payload content. */
export type CodecErrorCode =
  /** The key ring (files, ids, key sizes) is not usable. */
  | 'INVALID_KEY_RING'
  /** A namespace name that is not a Temporal namespace name (in the options, or a key ring folder's name). */
  | 'INVALID_NAMESPACE'
  /**
   * The payload is bound to another namespace than the one it is decoded for, or it is bound to one and the decoder
   * names none. Checked before any decryption.
   */
  | 'WRONG_NAMESPACE'
  /** The payload names a key id the ring does not hold. */
  | 'UNKNOWN_KEY'
  /** The ciphertext does not authenticate with the named key: tampered, or another key of the same id. */
  | 'DECRYPT_FAILED'
  /**
   * Too short to hold a nonce and a tag, an unknown format or compression marker, a format-2 payload without its
   * namespace, or the decrypted bytes are not a Payload.
   */
  | 'MALFORMED'
  /** A request body that is not the codec protocol's JSON. */
  | 'BAD_REQUEST'
  /** A payload that would decompress beyond the limit. */
  | 'TOO_LARGE';

export class CodecError extends Error {
  constructor(public readonly code: CodecErrorCode, message: string) {
    super(message);
    this.name = 'CodecError';
  }
}
