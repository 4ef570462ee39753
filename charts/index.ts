// The charts: the library composed with opinionated, secure defaults.
export * from './secure-temporal-chart';
export * from './synth';
