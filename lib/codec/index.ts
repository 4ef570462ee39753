// The payload codec, for workers (`secure-temporal/codec`) and the codec server: no cdk8s here.
export { CodecError, CodecErrorCode } from './errors';
export {
  ACTIVE_FILE, KEY_BYTES, KEY_ID, KEY_SUFFIX, keyFolderDigest, KeyRing, NamespaceKeyRings, watchedKeyRing, WatchOptions,
} from './key-ring';
export {
  ASSOCIATED_DATA_LABEL, COMPRESSION_METADATA, decryptPayload, encryptPayload, EncryptionCodec, EncryptionOptions, ENCODING_KEY,
  ENCRYPTED_ENCODING, FORMAT_METADATA, FORMAT_V2, formatAssociatedData, isEncrypted, KEY_ID_METADATA, NAMESPACE_METADATA, NONCE_BYTES,
  TAG_BYTES,
} from './codec';
export { requireNamespace } from './namespace';
export { JsonPayload, Payload, payloadFromJson, payloadToJson, parsePayload, serializePayload } from './payload';
