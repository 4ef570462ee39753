import { isIP, isIPv6 } from 'node:net';
import { Duration } from 'cdk8s';
import { ISecret } from 'cdk8s-plus-27';
import { Endpoint } from '../core/component';
import { goDuration } from '../core/duration';
import { ValidationError } from '../core/errors';
import { MYSQL_PORT, POSTGRES_PORT } from './ports';

/** SQL plugins of Temporal server v1.31 supported here. */
export type SqlPlugin = 'postgres12' | 'postgres12_pgx' | 'mysql8';
export const SQL_PLUGINS: readonly SqlPlugin[] = ['postgres12', 'postgres12_pgx', 'mysql8'];

/** The two stores every Temporal cluster has. */
export type StoreRole = 'default' | 'visibility';

/** One key of a Kubernetes Secret. */
export interface SecretKeyReference {
  /** The Secret (e.g. `Secret.fromSecretName(scope, 'DbPassword', 'temporal-db')`). */
  readonly secret: ISecret;
  /** The key inside the Secret. */
  readonly key: string;
}

/** TLS to the database server. */
export interface DatabaseTlsProps {
  /** CA certificate (PEM) that signed the database server's certificate. */
  readonly ca: SecretKeyReference;
  /**
   * A `kubernetes.io/tls` Secret (`tls.crt`, `tls.key`) presented as client certificate.
   * @default - no client certificate
   */
  readonly clientCertificate?: ISecret;
  /**
   * Name expected in the server certificate.
   * @default - the store's host
   */
  readonly serverName?: string;
  /**
   * Verify that the server certificate carries `serverName`. Turning this off allows a man in the
   * middle with any certificate of the CA; only do so for a database reached by IP with no SAN for it.
   * @default true
   */
  readonly enableHostVerification?: boolean;
}

/** One SQL datastore (the default store or the visibility store). */
export interface SqlStoreProps {
  /** Temporal SQL plugin. Use `postgres12_pgx` for PostgreSQL 12+ and `mysql8` for MySQL 8. */
  readonly plugin: SqlPlugin;
  /** Database host name (a DNS name or an IP). */
  readonly host: string;
  /**
   * Database port.
   * @default 5432 for PostgreSQL, 3306 for MySQL
   */
  readonly port?: number;
  /** Database name, e.g. `temporal` or `temporal_visibility`. */
  readonly database: string;
  /** Database user. */
  readonly user: string;
  /**
   * Where the password comes from. It reaches the server only as a Secret-backed environment variable
   * referenced by the config template; it never appears in a ConfigMap. Required unless the store
   * authenticates with a client certificate (`tls.clientCertificate`).
   * @default - none: certificate authentication
   */
  readonly password?: SecretKeyReference;
  /**
   * TLS to the database, with full verification by default.
   * @default - plaintext (only for a database on a trusted network; prefer TLS)
   */
  readonly tls?: DatabaseTlsProps;
  /** @default 20 */
  readonly maxConns?: number;
  /** @default 20 */
  readonly maxIdleConns?: number;
  /** @default Duration.hours(1) */
  readonly maxConnLifetime?: Duration;
  /**
   * Extra connect attributes (e.g. `{ tx_isolation: "'READ-COMMITTED'" }` for MySQL).
   * @default - none
   */
  readonly connectAttributes?: { readonly [key: string]: string };
  /**
   * Let the schema job create the database if it does not exist (needs the CREATEDB privilege).
   * @default true
   */
  readonly createDatabase?: boolean;
  /**
   * The component in the deployment that serves this store (the evaluation PostgreSQL sets it through
   * `store()`): the network boundary then admits its pods, instead of the external database peers.
   * @default - the database is outside the namespace (declare it with `externalDatabase`)
   */
  readonly endpoint?: Endpoint;
}

/** A store with its defaults resolved and validated. */
export interface ResolvedSqlStore {
  readonly role: StoreRole;
  readonly plugin: SqlPlugin;
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly user: string;
  /** The password, unless the store authenticates with a client certificate. */
  readonly password?: SecretKeyReference;
  /** Name of the env var that carries the password into server and job containers (when there is one). */
  readonly passwordEnv: string;
  readonly tls?: {
    readonly ca: SecretKeyReference;
    readonly clientCertificate?: ISecret;
    readonly serverName: string;
    readonly enableHostVerification: boolean;
    /** Directory the TLS files are mounted at. */
    readonly mountPath: string;
  };
  readonly maxConns: number;
  readonly maxIdleConns: number;
  readonly maxConnLifetime: string;
  readonly connectAttributes: Readonly<Record<string, string>>;
  readonly createDatabase: boolean;
  /** The component that serves the store, when it is part of the deployment. */
  readonly endpoint?: Endpoint;
}

const DNS_NAME = /^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/;
const DB_IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

export function isPostgres(plugin: SqlPlugin): boolean {
  return plugin === 'postgres12' || plugin === 'postgres12_pgx';
}

/** Validates one store and resolves its defaults. */
export function resolveSqlStore(path: string, role: StoreRole, props: SqlStoreProps | undefined): ResolvedSqlStore {
  const at = `${path}/${role === 'default' ? 'DefaultStore' : 'VisibilityStore'}`;
  if (props === undefined) {
    throw new ValidationError('INVALID_STORE', at, `persistence.${role} is required`, props,
      `declare persistence.${role} ({ plugin, host, database, user, password })`);
  }
  if (!SQL_PLUGINS.includes(props.plugin)) {
    throw new ValidationError('INVALID_STORE', at, 'plugin is not a supported SQL plugin', props.plugin,
      `use one of ${SQL_PLUGINS.join(', ')}`);
  }
  if (typeof props.host !== 'string' || (isIP(props.host) === 0 && !DNS_NAME.test(props.host))) {
    throw new ValidationError('INVALID_STORE', at, 'host must be a DNS name or IP address', props.host,
      'set host to the database server name, e.g. "db.example.internal"');
  }
  const port = props.port ?? (isPostgres(props.plugin) ? POSTGRES_PORT : MYSQL_PORT);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new ValidationError('INVALID_PORT', at, 'port must be 1-65535', port, 'use the database port, e.g. 5432');
  }
  for (const [field, value] of [['database', props.database], ['user', props.user]] as const) {
    if (typeof value !== 'string' || !DB_IDENTIFIER.test(value)) {
      throw new ValidationError('INVALID_STORE', at,
        `${field} must be a plain SQL identifier (letters, digits, "_"; at most 63 characters)`, value,
        `set ${field}, e.g. "temporal"`);
    }
  }
  const certificateAuth = props.tls?.clientCertificate !== undefined;
  const passwordGiven = props.password !== undefined;
  if ((!certificateAuth || passwordGiven) && (props.password?.secret === undefined || !props.password?.key)) {
    throw new ValidationError('MISSING_PASSWORD_SOURCE', at, 'the store has no password source', props.password,
      'set password: { secret: Secret.fromSecretName(this, "DbPassword", "<secret>"), key: "password" }, or ' +
        'authenticate with tls.clientCertificate; passwords are never accepted as literals');
  }
  const maxConns = props.maxConns ?? 20;
  const maxIdleConns = props.maxIdleConns ?? maxConns;
  if (!Number.isInteger(maxConns) || maxConns < 1 || !Number.isInteger(maxIdleConns) || maxIdleConns < 0 ||
    maxIdleConns > maxConns) {
    throw new ValidationError('INVALID_STORE', at, 'maxConns must be >= 1 and 0 <= maxIdleConns <= maxConns',
      { maxConns, maxIdleConns }, 'e.g. maxConns: 20, maxIdleConns: 20');
  }
  const tls = props.tls === undefined ? undefined : {
    ca: props.tls.ca,
    clientCertificate: props.tls.clientCertificate,
    serverName: props.tls.serverName ?? props.host,
    enableHostVerification: props.tls.enableHostVerification ?? true,
    mountPath: `/etc/temporal/tls/db-${role}`,
  };
  return {
    role,
    plugin: props.plugin,
    host: props.host,
    port,
    database: props.database,
    user: props.user,
    password: props.password,
    passwordEnv: role === 'default' ? 'TEMPORAL_DEFAULT_STORE_PASSWORD' : 'TEMPORAL_VISIBILITY_STORE_PASSWORD',
    tls,
    maxConns,
    maxIdleConns,
    maxConnLifetime: goDuration(at, 'maxConnLifetime', props.maxConnLifetime ?? Duration.hours(1)),
    connectAttributes: { ...(props.connectAttributes ?? {}) },
    createDatabase: props.createDatabase ?? true,
    ...(props.endpoint ? { endpoint: props.endpoint } : {}),
  };
}

/** The host as it goes before `:port` (IPv6 literals in brackets, as Go's net.SplitHostPort expects). */
export function bracketHost(host: string): string {
  return isIPv6(host) ? `[${host}]` : host;
}

/** `default at db.example:5432`: a store, for messages. */
export function storeText(store: Pick<ResolvedSqlStore, 'role' | 'host' | 'port'>): string {
  return `${store.role} at ${storeAddress(store)}`;
}

/** `host:port` of a store. */
export function storeAddress(store: Pick<ResolvedSqlStore, 'host' | 'port'>): string {
  return `${bracketHost(store.host)}:${store.port}`;
}

/** Embedded schema of `temporal-sql-tool update-schema --schema-name` for a store. */
export function schemaName(store: Pick<ResolvedSqlStore, 'plugin' | 'role'>): string {
  const base = isPostgres(store.plugin) ? 'postgresql/v12' : 'mysql/v8';
  return `${base}/${store.role === 'default' ? 'temporal' : 'visibility'}`;
}

/** File names of the mounted database TLS material. */
export const DB_TLS_FILES = { ca: 'ca.crt', cert: 'tls.crt', key: 'tls.key' } as const;
