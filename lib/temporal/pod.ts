import { k8s } from 'cdk8s-plus-27';
import { KEY_FILE_MODE } from '../tls/layout';
import { ResolvedSqlStore } from './persistence';

/** A writable scratch directory on a read-only root filesystem. */
export const TMP_VOLUME: k8s.Volume = { name: 'tmp', emptyDir: { sizeLimit: k8s.Quantity.fromString('64Mi') } };
export const TMP_MOUNT: k8s.VolumeMount = { name: 'tmp', mountPath: '/tmp' };

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

/** Spread pods of one component over nodes and zones, best effort (never blocks scheduling). */
export function spreadConstraints(selector: Record<string, string>): k8s.TopologySpreadConstraint[] {
  return ['topology.kubernetes.io/zone', 'kubernetes.io/hostname'].map((topologyKey) => ({
    maxSkew: 1,
    topologyKey,
    whenUnsatisfiable: 'ScheduleAnyway',
    labelSelector: { matchLabels: selector },
  }));
}
