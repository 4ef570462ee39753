import { Chart } from 'cdk8s';
import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { ComponentDescription, Components, IComponent } from '../core/component';
import { contentName } from '../core/content-name';
import { IMAGE_USERS } from '../core/images';
import { componentLabels, SCHEMA_VERSION_ANNOTATION, selectorLabels, SERVER_VERSION_ANNOTATION } from '../core/labels';
import {
  restrictedContainerSecurityContext, restrictedPodBasics, TMP_MOUNT, TMP_VOLUME, toResourceRequirements,
} from '../core/pod-security';
import { bracketHost, DB_TLS_FILES, ResolvedSqlStore, schemaName } from './persistence';
import { storeCalls, storeIdentities, storeTlsVolumes } from './store-wiring';
import { ResolvedServerVersion } from './versions';

export interface SchemaJobProps {
  readonly instance: string;
  readonly store: ResolvedSqlStore;
  /** Admin tools image (ships `temporal-sql-tool` with the schemas of its server release embedded). */
  readonly image: string;
  /** The release whose schema it installs. */
  readonly version: ResolvedServerVersion;
  /** ServiceAccount the Job runs as (it gets no API token). */
  readonly serviceAccountName: string;
}

/** The `temporal-sql-tool` steps of one store, in order. Each is idempotent. Pure. */
export function schemaSteps(store: ResolvedSqlStore): { name: string; args: string[] }[] {
  return [
    // Creates the database unless it exists (duplicate-database errors are ignored by the tool).
    ...(store.createDatabase ? [{ name: 'create-database', args: ['create-database'] }] : []),
    // Creates the schema_version tables IF NOT EXISTS and records version 0.0 only on an empty database.
    { name: 'setup-versioning', args: ['setup-schema', '-v', '0.0'] },
    // Applies every embedded versioned migration above the recorded version; a no-op when current.
    { name: 'update-schema', args: ['update-schema', '--schema-name', schemaName(store)] },
  ];
}

/** Environment of `temporal-sql-tool` for a store: connection settings; the password from its Secret. */
export function sqlToolEnv(store: ResolvedSqlStore): k8s.EnvVar[] {
  const env: k8s.EnvVar[] = [
    { name: 'SQL_PLUGIN', value: store.plugin },
    // temporal-sql-tool joins host and port with ':', so an IPv6 literal must arrive in brackets.
    { name: 'SQL_HOST', value: bracketHost(store.host) },
    { name: 'SQL_PORT', value: String(store.port) },
    { name: 'SQL_USER', value: store.user },
    { name: 'SQL_DATABASE', value: store.database },
    ...(store.password ? [{ name: 'SQL_PASSWORD',
      valueFrom: { secretKeyRef: { name: store.password.secret.name, key: store.password.key } } }] : []),
  ];
  const attributes = Object.entries(store.connectAttributes);
  if (attributes.length > 0) {
    const query = new URLSearchParams(attributes.sort(([a], [b]) => a.localeCompare(b))).toString();
    env.push({ name: 'SQL_CONNECT_ATTRIBUTES', value: query });
  }
  if (store.tls) {
    env.push(
      { name: 'SQL_TLS', value: 'true' },
      { name: 'SQL_TLS_CA_FILE', value: `${store.tls.mountPath}/ca/${DB_TLS_FILES.ca}` },
      { name: 'SQL_TLS_SERVER_NAME', value: store.tls.serverName },
      { name: 'SQL_TLS_DISABLE_HOST_VERIFICATION', value: String(!store.tls.enableHostVerification) },
    );
    if (store.tls.clientCertificate) {
      env.push(
        { name: 'SQL_TLS_CERT_FILE', value: `${store.tls.mountPath}/client/${DB_TLS_FILES.cert}` },
        { name: 'SQL_TLS_KEY_FILE', value: `${store.tls.mountPath}/client/${DB_TLS_FILES.key}` },
      );
    }
  }
  return env;
}

/**
 * Installs or upgrades the schema of one store. No Helm hooks: the Job retries with back-off until the
 * database answers, every step is idempotent, and server pods that start before it finishes fail
 * their schema-version check and are restarted by the kubelet until it has. Its name carries a hash of
 * its spec, so an upgrade (new admin tools image) creates a new Job.
 */
export class SchemaJob extends Construct implements IComponent {
  public readonly job: k8s.KubeJob;
  /** Labels that select this Job's pods. */
  public readonly selector: Record<string, string>;
  /** The store whose schema it installs (the database it connects to). */
  public readonly store: ResolvedSqlStore;
  public readonly description: ComponentDescription;

  constructor(scope: Construct, id: string, props: SchemaJobProps) {
    super(scope, id);
    const { store } = props;
    const labels = componentLabels(props.instance, `schema-${store.role}`);
    this.selector = selectorLabels(props.instance, `schema-${store.role}`);
    this.store = store;
    const env = sqlToolEnv(store);
    const tls = storeTlsVolumes([store]);
    const steps = schemaSteps(store);
    const resources = toResourceRequirements(this.node.path, { cpu: '50m', memory: '64Mi', memoryLimit: '256Mi' });
    const containers: k8s.Container[] = steps.map((step) => ({
      name: step.name,
      image: props.image,
      imagePullPolicy: 'IfNotPresent',
      command: ['temporal-sql-tool'],
      args: step.args,
      env,
      resources,
      securityContext: restrictedContainerSecurityContext(),
      volumeMounts: [TMP_MOUNT, ...tls.mounts],
    }));
    const name = contentName(`${props.instance}-schema-${store.role}`, { image: props.image, containers });

    const annotations = {
      [SERVER_VERSION_ANNOTATION]: props.version.version.text,
      [SCHEMA_VERSION_ANNOTATION]: props.version.release.schema[store.role],
    };
    this.job = new k8s.KubeJob(this, 'Job', {
      metadata: { name, labels, annotations },
      spec: {
        backoffLimit: 30,
        template: {
          metadata: { labels, annotations },
          spec: {
            restartPolicy: 'OnFailure',
            ...restrictedPodBasics(props.serviceAccountName, IMAGE_USERS.adminTools),
            initContainers: containers.slice(0, -1),
            containers: containers.slice(-1),
            volumes: [TMP_VOLUME, ...tls.volumes],
          },
        },
      },
    });
    this.description = {
      id: `schema-${store.role}`,
      workload: this.job,
      selector: this.selector,
      ports: [],
      calls: storeCalls([store], `installs and upgrades the ${store.role} schema`),
      presents: storeIdentities([store], Chart.of(this).namespace ?? ''),
    };
    Components.register(this);
  }
}
