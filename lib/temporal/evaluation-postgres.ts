import { k8s, Secret } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { ComponentDescription, Components, Endpoint, HealthEndpoints, healthProbe, IComponent, NamedPort } from '../core/component';
import { serviceDnsOf, serviceFqdn } from '../core/dns';
import { ValidationError } from '../core/errors';
import { DEFAULT_IMAGES, IMAGE_USERS, requirePinnedImage } from '../core/images';
import { Installation, InstallationScopedProps } from '../core/installation';
import { componentLabels, selectorLabels } from '../core/labels';
import {
  ComputeResources, restrictedContainerSecurityContext, restrictedPodBasics, toResourceRequirements,
} from '../core/pod-security';
import { rollback } from '../core/rollback';
import { requireUnusedNames } from '../core/unique';
import { TlsIdentity } from '../tls/identity';
import { TemporalPki } from '../tls/pki';
import { SecretKeyReference, SqlStoreProps } from './persistence';
import { POSTGRES_PORT } from './ports';

/** Props of the evaluation database; objects are `<installation name>-postgres`. Its installation defaults to the PKI's. */
export interface EvaluationPostgresProps extends InstallationScopedProps {
  /**
   * The PKI: with it, PostgreSQL serves TLS only and authenticates clients by certificate (`cert`: the
   * certificate's CN is the user name), so no password exists at all. Its server certificate and its clients'
   * certificates (CN = `user`) come from the PKI's database-clients CA, a CA of its own that only the database
   * and its clients trust: no rollover of a purpose CA touches the database.
   * @default - no TLS; password authentication (then `password` is required)
   */
  readonly pki?: TemporalPki;
  /**
   * The superuser password (the Secret must exist before the pods start). Only without `pki`.
   * @default - none (certificate authentication)
   */
  readonly password?: SecretKeyReference;
  /** @default 'temporal' */
  readonly user?: string;
  /** Size of the data volume. @default '10Gi' */
  readonly storage?: string;
  /** @default - the cluster's default StorageClass */
  readonly storageClassName?: string;
  /** @default DEFAULT_IMAGES.postgres */
  readonly image?: string;
  /** @default { cpu: '250m', memory: '512Mi', memoryLimit: '1Gi' } */
  readonly resources?: ComputeResources;
}

/** Annotation that marks objects meant for evaluation only. */
export const EVALUATION_ONLY_ANNOTATION = 'secure-temporal.io/evaluation-only';
/** Pod annotation naming the issuer of the database's server certificate (the pod rolls when it changes). */
export const SERVER_CERTIFICATE_ISSUER_ANNOTATION = 'secure-temporal.io/server-certificate-issuer';

/** Where the server's TLS material and its client-authentication rules are mounted. */
export const POSTGRES_TLS_DIR = '/etc/postgres/tls';
export const POSTGRES_TRUST_DIR = '/etc/postgres/trust';
export const POSTGRES_HBA_DIR = '/etc/postgres/hba';
/** File name of the client CA (the database-clients CA) in the trust directory. */
export const POSTGRES_CLIENT_CA_FILE = 'database-clients-ca.crt';

/**
 * Client authentication of the evaluation PostgreSQL with TLS: the in-pod socket (initialization
 * scripts, probes) is trusted; over the network only TLS with a client certificate whose CN is the
 * user name (`cert`). No `host` line: plaintext connections are refused. Pure.
 */
export function certificateHbaConf(): string {
  return [
    '# Generated: client authentication of the evaluation PostgreSQL.',
    '# TYPE   DATABASE USER ADDRESS METHOD',
    'local    all      all          trust',
    'hostssl  all      all  all     cert',
    '',
  ].join('\n');
}

/**
 * NOT FOR PRODUCTION. A single-replica PostgreSQL (StatefulSet with one volume, no backups, no
 * replication, no failover) so that the default deployment runs on an empty cluster. Use a managed or
 * operated PostgreSQL/MySQL for anything that matters and pass it as `persistence`.
 */
export class EvaluationPostgres extends Construct implements IComponent {
  public readonly name: string;
  /** DNS name clients connect to. */
  public readonly host: string;
  public readonly port = POSTGRES_PORT;
  public readonly user: string;
  /** The password (only without a PKI). */
  public readonly password?: SecretKeyReference;
  /** The server certificate (with a PKI). */
  public readonly serverIdentity?: TlsIdentity;
  /** The certificate clients authenticate with (CN = `user`; with a PKI). */
  public readonly clientIdentity?: TlsIdentity;
  public readonly selector: Record<string, string>;
  public readonly statefulSet: k8s.KubeStatefulSet;
  /** Its PostgreSQL port, through its Service. */
  public readonly endpoint: Endpoint;
  public readonly description: ComponentDescription;
  private readonly storeTls?: SqlStoreProps['tls'];

  constructor(scope: Construct, id: string, props: EvaluationPostgresProps) {
    super(scope, id);
    try {
      const path = this.node.path;
      const installation = Installation.resolve(this, props, props.pki?.installation);
      const prefix = installation.name;
      this.name = `${prefix}-postgres`;
      this.user = props.user ?? 'temporal';
      if (!/^[a-z_][a-z0-9_]{0,62}$/.test(this.user)) {
        throw new ValidationError('INVALID_STORE', path, 'user must be a lower-case SQL identifier', props.user,
          'use e.g. "temporal"');
      }
      if (props.pki === undefined && (props.password?.secret === undefined || !props.password?.key)) {
        throw new ValidationError('MISSING_PASSWORD_SOURCE', path, 'the evaluation PostgreSQL has no password source',
          props.password, 'pass pki (certificate authentication, no password) or password: ' +
            '{ secret: Secret.fromSecretName(this, "DbPassword", "temporal-db"), key: "password" }');
      }
      if (props.pki !== undefined && props.password !== undefined) {
        throw new ValidationError('INVALID_STORE', path, 'password and pki are exclusive', 'password',
          'drop password: with a PKI the database authenticates clients by certificate only');
      }
      this.password = props.password;
      const storage = props.storage ?? '10Gi';
      if (!/^[0-9]+(Mi|Gi|Ti)$/.test(storage)) {
        throw new ValidationError('INVALID_RESOURCES', path, 'storage must be a quantity in Mi, Gi or Ti', storage,
          'use e.g. "10Gi"');
      }
      const image = requirePinnedImage(path, 'image', props.image ?? DEFAULT_IMAGES.postgres, DEFAULT_IMAGES.postgres);
      const resources = toResourceRequirements(path, props.resources ?? { cpu: '250m', memory: '512Mi', memoryLimit: '1Gi' });
      requireUnusedNames(this, [{ kind: 'StatefulSet', name: this.name }], 'run one evaluation PostgreSQL per installation');
      const postgresPort: NamedPort = { name: 'postgres', port: POSTGRES_PORT, protocol: 'TCP' };
      const labels = componentLabels(prefix, 'postgres');
      this.selector = selectorLabels(prefix, 'postgres');
      const annotations = { [EVALUATION_ONLY_ANNOTATION]: 'true' };

      const account = new k8s.KubeServiceAccount(this, 'ServiceAccount', {
        metadata: { name: this.name, labels, annotations },
        automountServiceAccountToken: false,
      });
      const service = new k8s.KubeService(this, 'Service', {
        metadata: { name: this.name, labels, annotations },
        spec: {
          clusterIp: 'None',
          selector: this.selector,
          ports: [{ name: postgresPort.name, port: postgresPort.port, targetPort: k8s.IntOrString.fromString(postgresPort.name),
            protocol: 'TCP', appProtocol: 'tcp' }],
        },
      });
      const dns = serviceDnsOf(service, installation.clusterDomain);
      this.host = serviceFqdn(dns);
      this.endpoint = { component: this, port: postgresPort, service: dns };

      const volumes: k8s.Volume[] = [
        { name: 'run', emptyDir: { sizeLimit: k8s.Quantity.fromString('16Mi') } },
        { name: 'tmp', emptyDir: { sizeLimit: k8s.Quantity.fromString('256Mi') } },
      ];
      const mounts: k8s.VolumeMount[] = [
        { name: 'data', mountPath: '/var/lib/postgresql/data' },
        { name: 'run', mountPath: '/var/run/postgresql' },
        { name: 'tmp', mountPath: '/tmp' },
      ];
      const env: k8s.EnvVar[] = [
        { name: 'POSTGRES_USER', value: this.user },
        { name: 'PGDATA', value: '/var/lib/postgresql/data/pgdata' },
      ];
      let args: string[] | undefined;
      if (props.pki) {
        const pki = props.pki;
        // Server and clients are of the database-clients CA (below), no purpose CA of the trust graph.
        this.serverIdentity = pki.issueDatabaseServerCertificate(this, 'ServerTls', { service: dns });
        this.clientIdentity = pki.issueDatabaseClientCertificate(this, 'ClientTls', { user: this.user });
        const hba = new k8s.KubeConfigMap(this, 'Hba', {
          metadata: { name: `${this.name}-hba`, labels, annotations },
          data: { 'pg_hba.conf': certificateHbaConf() },
        });
        // PostgreSQL verifies client certificates with OpenSSL, which needs a chain ending at a self-signed root:
        // the database-clients CA is one, and issues nothing but database client certificates, so no other
        // certificate of the PKI can log in whatever its CN; the `cert` rule then maps CN to the user.
        const clientCa = pki.databaseClientsTrustSource;
        if (clientCa === undefined) {
          throw new Error(`${path}: the database-clients CA was not made`);
        }
        const trust: k8s.Volume = { name: 'trust', secret: { secretName: clientCa.secretName,
          items: [{ key: clientCa.key, path: POSTGRES_CLIENT_CA_FILE }], defaultMode: 0o444 } };
        const clientCaFile = `${POSTGRES_TRUST_DIR}/${POSTGRES_CLIENT_CA_FILE}`;
        volumes.push(
          this.serverIdentity.volume('tls'),
          trust,
          { name: 'hba', configMap: { name: hba.name } },
        );
        mounts.push(
          this.serverIdentity.volumeMount('tls', POSTGRES_TLS_DIR),
          { name: 'trust', mountPath: POSTGRES_TRUST_DIR, readOnly: true },
          { name: 'hba', mountPath: POSTGRES_HBA_DIR, readOnly: true },
        );
        // The image's entrypoint refuses to initialize without a password unless this says `trust`. It only
        // writes a line into PGDATA's own pg_hba.conf, which `hba_file` below replaces: authentication is
        // decided by the mounted certificateHbaConf() (socket in the pod; certificates over the network).
        env.push({ name: 'POSTGRES_HOST_AUTH_METHOD', value: 'trust' });
        args = [
          '-c', 'ssl=on',
          '-c', `ssl_cert_file=${POSTGRES_TLS_DIR}/tls.crt`,
          '-c', `ssl_key_file=${POSTGRES_TLS_DIR}/tls.key`,
          '-c', `ssl_ca_file=${clientCaFile}`,
          '-c', 'ssl_min_protocol_version=TLSv1.2',
          '-c', `hba_file=${POSTGRES_HBA_DIR}/pg_hba.conf`,
        ];
        this.storeTls = {
          ca: { secret: Secret.fromSecretName(this, 'DatabaseCa', clientCa.secretName), key: clientCa.key },
          clientCertificate: Secret.fromSecretName(this, 'ClientCertificate', this.clientIdentity.secretName),
          serverName: this.host,
          enableHostVerification: true,
        };
      } else if (props.password) {
        volumes.push({
          name: 'password',
          secret: { secretName: props.password.secret.name, items: [{ key: props.password.key, path: 'password' }],
            defaultMode: 0o440 },
        });
        mounts.push({ name: 'password', mountPath: '/etc/postgres-secret', readOnly: true });
        env.push({ name: 'POSTGRES_PASSWORD_FILE', value: '/etc/postgres-secret/password' });
      }

      // pg_isready over the local socket: the server accepts connections (no TLS, no credentials needed).
      const health: HealthEndpoints = { readiness: { command: ['pg_isready', '-h', '/var/run/postgresql', '-U', this.user] } };
      const ready = healthProbe(health.readiness, { periodSeconds: 10, timeoutSeconds: 5 });
      this.statefulSet = new k8s.KubeStatefulSet(this, 'StatefulSet', {
        metadata: { name: this.name, labels, annotations },
        spec: {
          serviceName: service.name,
          replicas: 1,
          selector: { matchLabels: this.selector },
          template: {
            // PostgreSQL reads its certificate files at start: naming the server certificate's issuer here rolls the pod
            // when that issuer changes (an upgrade that moved it), so that it never serves a certificate its clients no
            // longer trust.
            metadata: { labels, annotations: { ...annotations,
              ...(this.serverIdentity?.issuance.kind === 'cert-manager'
                ? { [SERVER_CERTIFICATE_ISSUER_ANNOTATION]: this.serverIdentity.issuance.issuerRef.name } : {}) } },
            spec: {
              ...restrictedPodBasics(account.name, IMAGE_USERS.postgres),
              containers: [{
                name: 'postgres',
                image,
                imagePullPolicy: 'IfNotPresent',
                args,
                env,
                ports: [{ name: postgresPort.name, containerPort: postgresPort.port, protocol: 'TCP' }],
                readinessProbe: ready,
                livenessProbe: { ...ready, failureThreshold: 6, periodSeconds: 20, initialDelaySeconds: 30 },
                resources,
                securityContext: restrictedContainerSecurityContext(),
                volumeMounts: mounts,
              }],
              volumes,
            },
          },
          volumeClaimTemplates: [{
            metadata: { name: 'data', labels },
            spec: {
              accessModes: ['ReadWriteOnce'],
              storageClassName: props.storageClassName,
              resources: { requests: { storage: k8s.Quantity.fromString(storage) } },
            },
          }],
        },
      });
      this.description = {
        id: 'postgres',
        workload: this.statefulSet,
        selector: this.selector,
        ports: [postgresPort],
        health,
        serves: this.serverIdentity ? [this.serverIdentity] : [],
        datastore: true,
      };
      Components.register(this);
    } catch (error) {
      rollback(this, error);
    }
  }

  /** A store on this server: certificate authentication over verified TLS with a PKI, else the password. */
  public store(database: string): SqlStoreProps {
    return {
      plugin: 'postgres12_pgx', host: this.host, port: this.port, database, user: this.user,
      ...(this.storeTls ? { tls: this.storeTls } : { password: this.password }),
      endpoint: this.endpoint,
    };
  }
}
