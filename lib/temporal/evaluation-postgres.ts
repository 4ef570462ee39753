import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { rollback } from '../atomic';
import { ValidationError } from '../errors';
import { DEFAULT_IMAGES, IMAGE_USERS, requirePinnedImage } from './images';
import { componentLabels, selectorLabels } from './labels';
import { requireDns1035Label } from './names';
import { SecretKeyReference, SqlStoreProps } from './persistence';
import { POSTGRES_PORT } from './ports';
import {
  ComputeResources, restrictedContainerSecurityContext, restrictedPodSecurityContext, toResourceRequirements,
} from './security';

export interface EvaluationPostgresProps {
  /** Name prefix (`<name>-postgres`). @default 'temporal' */
  readonly name?: string;
  /** The superuser password (the Secret must exist before the pods start). */
  readonly password: SecretKeyReference;
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
  /** Kubernetes namespace it runs in (for its DNS name). */
  readonly namespace: string;
  /** @default 'cluster.local' */
  readonly clusterDomain?: string;
}

/** Annotation that marks objects meant for evaluation only. */
export const EVALUATION_ONLY_ANNOTATION = 'secure-temporal.io/evaluation-only';

/**
 * NOT FOR PRODUCTION. A single-replica PostgreSQL (StatefulSet with one volume, no backups, no
 * replication, no failover) so that the default deployment runs on an empty cluster. Use a managed or
 * operated PostgreSQL/MySQL for anything that matters and pass it as `persistence`.
 */
export class EvaluationPostgres extends Construct {
  public readonly name: string;
  /** DNS name clients connect to. */
  public readonly host: string;
  public readonly port = POSTGRES_PORT;
  public readonly user: string;
  public readonly password: SecretKeyReference;
  public readonly selector: Record<string, string>;
  public readonly statefulSet: k8s.KubeStatefulSet;

  constructor(scope: Construct, id: string, props: EvaluationPostgresProps) {
    super(scope, id);
    try {
      const path = this.node.path;
      const prefix = requireDns1035Label(path, 'name', props.name ?? 'temporal', 30);
      this.name = `${prefix}-postgres`;
      this.host = `${this.name}.${props.namespace}.svc.${props.clusterDomain ?? 'cluster.local'}`;
      this.user = props.user ?? 'temporal';
      if (!/^[a-z_][a-z0-9_]{0,62}$/.test(this.user)) {
        throw new ValidationError('INVALID_STORE', path, 'user must be a lower-case SQL identifier', props.user,
          'use e.g. "temporal"');
      }
      if (props.password === undefined || props.password.secret === undefined || !props.password.key) {
        throw new ValidationError('MISSING_PASSWORD_SOURCE', path, 'the evaluation PostgreSQL has no password source',
          props.password, 'set password: { secret: Secret.fromSecretName(this, "DbPassword", "temporal-db"), key: "password" }');
      }
      this.password = props.password;
      const storage = props.storage ?? '10Gi';
      if (!/^[0-9]+(Mi|Gi|Ti)$/.test(storage)) {
        throw new ValidationError('INVALID_RESOURCES', path, 'storage must be a quantity in Mi, Gi or Ti', storage,
          'use e.g. "10Gi"');
      }
      const image = requirePinnedImage(path, 'image', props.image ?? DEFAULT_IMAGES.postgres);
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
          ports: [{ name: 'postgres', port: POSTGRES_PORT, targetPort: k8s.IntOrString.fromString('postgres'),
            protocol: 'TCP', appProtocol: 'tcp' }],
        },
      });
      const ready: k8s.Probe = {
        exec: { command: ['pg_isready', '-h', '127.0.0.1', '-U', this.user] },
        periodSeconds: 10,
        timeoutSeconds: 5,
      };
      this.statefulSet = new k8s.KubeStatefulSet(this, 'StatefulSet', {
        metadata: { name: this.name, labels, annotations },
        spec: {
          serviceName: service.name,
          replicas: 1,
          selector: { matchLabels: this.selector },
          template: {
            metadata: { labels, annotations },
            spec: {
              serviceAccountName: account.name,
              automountServiceAccountToken: false,
              enableServiceLinks: false,
              securityContext: restrictedPodSecurityContext(IMAGE_USERS.postgres),
              containers: [{
                name: 'postgres',
                image,
                imagePullPolicy: 'IfNotPresent',
                env: [
                  { name: 'POSTGRES_USER', value: this.user },
                  { name: 'POSTGRES_PASSWORD_FILE', value: '/etc/postgres-secret/password' },
                  { name: 'PGDATA', value: '/var/lib/postgresql/data/pgdata' },
                ],
                ports: [{ name: 'postgres', containerPort: POSTGRES_PORT, protocol: 'TCP' }],
                readinessProbe: ready,
                livenessProbe: { ...ready, failureThreshold: 6, periodSeconds: 20, initialDelaySeconds: 30 },
                resources: toResourceRequirements(path, props.resources ??
                  { cpu: '250m', memory: '512Mi', memoryLimit: '1Gi' }),
                securityContext: restrictedContainerSecurityContext(),
                volumeMounts: [
                  { name: 'data', mountPath: '/var/lib/postgresql/data' },
                  { name: 'run', mountPath: '/var/run/postgresql' },
                  { name: 'tmp', mountPath: '/tmp' },
                  { name: 'password', mountPath: '/etc/postgres-secret', readOnly: true },
                ],
              }],
              volumes: [
                { name: 'run', emptyDir: { sizeLimit: k8s.Quantity.fromString('16Mi') } },
                { name: 'tmp', emptyDir: { sizeLimit: k8s.Quantity.fromString('256Mi') } },
                {
                  name: 'password',
                  secret: { secretName: props.password.secret.name, items: [{ key: props.password.key, path: 'password' }],
                    defaultMode: 0o440 },
                },
              ],
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
    } catch (error) {
      rollback(this, error);
    }
  }

  /** A store on this server. */
  public store(database: string): SqlStoreProps {
    return { plugin: 'postgres12_pgx', host: this.host, port: this.port, database, user: this.user,
      password: this.password };
  }
}
