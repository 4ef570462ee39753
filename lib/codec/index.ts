// The payload codec, for workers (`secure-temporal/codec`) and the codec server: no cdk8s here.
export { CodecError, CodecErrorCode } from './errors';
export { ACTIVE_FILE, KEY_BYTES, KEY_ID, KEY_SUFFIX, KeyRing, watchedKeyRing, WatchOptions } from './key-ring';
export {
  COMPRESSION_METADATA, decryptPayload, encryptPayload, EncryptionCodec, EncryptionOptions, ENCODING_KEY, ENCRYPTED_ENCODING, isEncrypted,
  KEY_ID_METADATA, NONCE_BYTES, TAG_BYTES,
} from './codec';
export { JsonPayload, Payload, payloadFromJson, payloadToJson, parsePayload, serializePayload } from './payload';
