// Public API of the TLS layer.
export * from './consumers';
export * from './generated-chain';
export * from './global-tls';
export * from './identity';
export * from './issuer-check';
export * from './layout';
export * from './pki';
export * from './settings';
export * from './sources';
export * from './specification';
export * from './trust';
