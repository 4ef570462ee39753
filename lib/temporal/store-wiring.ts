import { k8s } from 'cdk8s-plus-27';
import { Call, IdentityRef } from '../core/component';
import { KEY_FILE_MODE } from '../tls/layout';
import { ResolvedSqlStore, storeText } from './persistence';

/** Env vars that carry the store passwords from their Secrets. */
export function storePasswordEnv(stores: readonly ResolvedSqlStore[]): k8s.EnvVar[] {
  return stores.flatMap((store) => store.password ? [{
    name: store.passwordEnv,
    valueFrom: { secretKeyRef: { name: store.password.secret.name, key: store.password.key } },
  }] : []);
}

/** Volumes and mounts for the TLS material of the stores that use TLS (deduplicated by role). */
export function storeTlsVolumes(stores: readonly ResolvedSqlStore[]): { volumes: k8s.Volume[]; mounts: k8s.VolumeMount[] } {
  const volumes: k8s.Volume[] = [];
  const mounts: k8s.VolumeMount[] = [];
  for (const store of stores) {
    if (!store.tls) {
      continue;
    }
    const ca = `db-${store.role}-ca`;
    volumes.push({
      name: ca,
      secret: { secretName: store.tls.ca.secret.name, items: [{ key: store.tls.ca.key, path: 'ca.crt' }] },
    });
    mounts.push({ name: ca, mountPath: `${store.tls.mountPath}/ca`, readOnly: true });
    if (store.tls.clientCertificate) {
      const client = `db-${store.role}-client`;
      volumes.push({
        name: client,
        secret: {
          secretName: store.tls.clientCertificate.name,
          items: [{ key: 'tls.crt', path: 'tls.crt' }, { key: 'tls.key', path: 'tls.key' }],
          // The key is readable by the owner and the pod's fsGroup only, like every other key volume.
          defaultMode: KEY_FILE_MODE,
        },
      });
      mounts.push({ name: client, mountPath: `${store.tls.mountPath}/client`, readOnly: true });
    }
  }
  return { volumes, mounts };
}

/**
 * The connections to the databases of `stores`: one per in-cluster component that serves some of them,
 * then one to the external database peers with the ports of the others. Pure.
 */
export function storeCalls(stores: readonly ResolvedSqlStore[], purpose: string): Call[] {
  const calls: Call[] = [];
  for (const store of stores) {
    const endpoint = store.endpoint;
    if (endpoint && !calls.some((c) => 'to' in c && c.to.component === endpoint.component && c.to.port.name === endpoint.port.name)) {
      calls.push({ to: endpoint, category: 'database', purpose });
    }
  }
  const outside = stores.filter((s) => s.endpoint === undefined);
  if (outside.length > 0) {
    calls.push({
      outside: { role: 'database' },
      ports: outside.map((s) => ({ port: s.port })),
      targets: outside.map(storeText),
      category: 'database',
      purpose,
    });
  }
  return calls;
}

/** The client certificates the stores' clients present to the database (each Secret once), as identity references. */
export function storeIdentities(stores: readonly ResolvedSqlStore[], namespace: string): IdentityRef[] {
  const refs: IdentityRef[] = [];
  for (const store of stores) {
    const secret = store.tls?.clientCertificate;
    if (secret && !refs.some((r) => r.secretName === secret.name)) {
      refs.push({ path: secret.node.path, name: `${store.user} (database client)`, namespace, secretName: secret.name });
    }
  }
  return refs;
}
