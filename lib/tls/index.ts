// Public API of the TLS module (re-exported by lib/index.ts once the cluster is wired).
export * from './consumers';
export * from './dns';
export * from './generated-chain';
export * from './global-tls';
export * from './identity';
export * from './issuer-check';
export * from './layout';
export * from './pki';
export * from './settings';
export * from './sources';
export * from './trust';
