// The package entry point: the construct library and the charts built from it.
export * from './lib';
export * from './charts';
