import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { ValidationError } from './errors';

/** A writable scratch directory on a read-only root filesystem. */
export const TMP_VOLUME: k8s.Volume = { name: 'tmp', emptyDir: { sizeLimit: k8s.Quantity.fromString('64Mi') } };
export const TMP_MOUNT: k8s.VolumeMount = { name: 'tmp', mountPath: '/tmp' };

/** A PodDisruptionBudget letting one pod of the component go at a time (`<scope>/Pdb`). */
export function disruptionBudget(scope: Construct, name: string, labels: Record<string, string>,
  selector: Record<string, string>): k8s.KubePodDisruptionBudget {
  return new k8s.KubePodDisruptionBudget(scope, 'Pdb', {
    metadata: { name, labels },
    spec: { maxUnavailable: k8s.IntOrString.fromNumber(1), selector: { matchLabels: selector } },
  });
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

/**
 * Pod and container security settings that satisfy the Pod Security Standards "restricted" profile:
 * non-root, no privilege escalation, every capability dropped, RuntimeDefault seccomp, and a read-only
 * root filesystem (writable paths come only from emptyDir volumes).
 */
export function restrictedPodSecurityContext(uid: number): k8s.PodSecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: uid,
    runAsGroup: uid,
    fsGroup: uid,
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

/**
 * The identity and isolation part of every pod spec: its ServiceAccount, no API token, no service-link
 * env vars, and the restricted pod security context for the image's own user.
 */
export function restrictedPodBasics(serviceAccountName: string, uid: number): Pick<k8s.PodSpec,
  'serviceAccountName' | 'automountServiceAccountToken' | 'enableServiceLinks' | 'securityContext'> {
  return {
    serviceAccountName,
    automountServiceAccountToken: false,
    enableServiceLinks: false,
    securityContext: restrictedPodSecurityContext(uid),
  };
}

export function restrictedContainerSecurityContext(): k8s.SecurityContext {
  return {
    allowPrivilegeEscalation: false,
    privileged: false,
    readOnlyRootFilesystem: true,
    runAsNonRoot: true,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

/** CPU/memory of one container. Requests always; a memory limit always; a CPU limit only if asked. */
export interface ComputeResources {
  /** CPU request, e.g. `250m`. */
  readonly cpu: string;
  /** Memory request, e.g. `512Mi`. */
  readonly memory: string;
  /** Memory limit, e.g. `1Gi`. Must be at least the request. */
  readonly memoryLimit: string;
  /**
   * CPU limit.
   * @default - none (CPU limits throttle latency-sensitive gRPC services; requests reserve capacity)
   */
  readonly cpuLimit?: string;
}

const CPU = /^([0-9]+m|[0-9]+(\.[0-9]+)?)$/;
const MEMORY = /^[0-9]+(Ki|Mi|Gi|Ti|k|M|G|T)?$/;
const MEMORY_FACTORS: Record<string, number> = {
  '': 1, 'k': 1e3, 'M': 1e6, 'G': 1e9, 'T': 1e12, 'Ki': 1024, 'Mi': 1024 ** 2, 'Gi': 1024 ** 3, 'Ti': 1024 ** 4,
};

/** Bytes of a memory quantity (`512Mi`), NaN when it is not one. */
export function memoryBytes(value: string): number {
  const match = /^([0-9]+)([A-Za-z]*)$/.exec(value);
  return match ? Number(match[1]) * (MEMORY_FACTORS[match[2]] ?? NaN) : NaN;
}

/** Validates `resources` and turns it into the Kubernetes shape. */
export function toResourceRequirements(path: string, resources: ComputeResources): k8s.ResourceRequirements {
  const fix = 'use Kubernetes quantities, e.g. { cpu: "250m", memory: "512Mi", memoryLimit: "1Gi" }';
  if (!CPU.test(resources.cpu ?? '') || (resources.cpuLimit !== undefined && !CPU.test(resources.cpuLimit))) {
    throw new ValidationError('INVALID_RESOURCES', path, 'resources.cpu is not a CPU quantity', resources, fix);
  }
  if (!MEMORY.test(resources.memory ?? '') || !MEMORY.test(resources.memoryLimit ?? '')) {
    throw new ValidationError('INVALID_RESOURCES', path, 'resources.memory/memoryLimit is not a memory quantity',
      resources, fix);
  }
  if (memoryBytes(resources.memoryLimit) < memoryBytes(resources.memory)) {
    throw new ValidationError('INVALID_RESOURCES', path, 'resources.memoryLimit is below resources.memory',
      resources, 'raise memoryLimit to at least the memory request');
  }
  const limits: Record<string, k8s.Quantity> = { memory: k8s.Quantity.fromString(resources.memoryLimit) };
  if (resources.cpuLimit !== undefined) {
    limits.cpu = k8s.Quantity.fromString(resources.cpuLimit);
  }
  return {
    requests: { cpu: k8s.Quantity.fromString(resources.cpu), memory: k8s.Quantity.fromString(resources.memory) },
    limits,
  };
}
