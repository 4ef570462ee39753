// Public API of the library.
export * from './errors';
export * from './temporal/admin-tools';
export * from './temporal/cluster';
export * from './temporal/dynamic-config';
export * from './temporal/evaluation-postgres';
export * from './temporal/images';
export * from './temporal/labels';
export * from './temporal/names';
export * from './temporal/namespace-job';
export * from './temporal/persistence';
export * from './temporal/ports';
export * from './temporal/schema-job';
export * from './temporal/security';
export * from './temporal/server-config';
export * from './temporal/server-service';
export * from './temporal/web-ui';
export * from '../charts/secure-temporal-chart';
