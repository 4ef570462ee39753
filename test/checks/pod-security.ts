/**
 * Pod Security Standards "restricted" (plus our own stricter rules: read-only root filesystem and
 * resource requests/limits) over every pod template. Each function returns human-readable violations;
 * an empty list means compliant.
 */
import type { IContainer, IPodSpec, ISecurityContext } from 'kubernetes-models/v1';
import { K8sObject, PodTemplate, podTemplates } from '../util';

/** Volume types the "restricted" profile allows. */
const ALLOWED_VOLUME_TYPES = [
  'configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'persistentVolumeClaim', 'projected', 'secret',
];

function containersOf(spec: IPodSpec): { kind: string; container: IContainer }[] {
  return [
    ...(spec.initContainers ?? []).map((container) => ({ kind: 'init container', container })),
    ...(spec.containers ?? []).map((container) => ({ kind: 'container', container })),
    ...((spec.ephemeralContainers ?? []) as IContainer[]).map((container) => ({ kind: 'ephemeral container', container })),
  ];
}

function podLevel(pod: PodTemplate): string[] {
  const { spec } = pod;
  const out: string[] = [];
  for (const field of ['hostNetwork', 'hostPID', 'hostIPC'] as const) {
    if (spec[field] === true) {
      out.push(`${field} is true`);
    }
  }
  for (const volume of spec.volumes ?? []) {
    const types = Object.keys(volume).filter((k) => k !== 'name');
    const disallowed = types.filter((t) => !ALLOWED_VOLUME_TYPES.includes(t));
    if (disallowed.length > 0) {
      out.push(`volume ${volume.name} uses ${disallowed.join(', ')}`);
    }
  }
  const sc = spec.securityContext ?? {};
  if (sc.runAsUser === 0) {
    out.push('pod runAsUser is 0');
  }
  if ((sc.sysctls ?? []).length > 0) {
    out.push('pod sets sysctls');
  }
  const seccomp = sc.seccompProfile?.type;
  if (seccomp !== undefined && seccomp !== 'RuntimeDefault' && seccomp !== 'Localhost') {
    out.push(`pod seccompProfile is ${seccomp}`);
  }
  return out;
}

function containerLevel(pod: PodTemplate, kind: string, container: IContainer): string[] {
  const podSc = pod.spec.securityContext ?? {};
  const sc: ISecurityContext = container.securityContext ?? {};
  const at = `${kind} ${container.name}`;
  const out: string[] = [];
  if (sc.privileged === true) {
    out.push(`${at}: privileged`);
  }
  if (sc.allowPrivilegeEscalation !== false) {
    out.push(`${at}: allowPrivilegeEscalation is not false`);
  }
  if (!(sc.capabilities?.drop ?? []).includes('ALL')) {
    out.push(`${at}: capabilities do not drop ALL`);
  }
  const added = sc.capabilities?.add ?? [];
  if (added.length > 0) {
    out.push(`${at}: capabilities add ${added.join(', ')}`);
  }
  if ((sc.runAsNonRoot ?? podSc.runAsNonRoot) !== true) {
    out.push(`${at}: runAsNonRoot is not true (pod or container)`);
  }
  if (sc.runAsUser === 0) {
    out.push(`${at}: runAsUser is 0`);
  }
  const seccomp = sc.seccompProfile?.type ?? podSc.seccompProfile?.type;
  if (seccomp !== 'RuntimeDefault' && seccomp !== 'Localhost') {
    out.push(`${at}: seccompProfile is ${seccomp ?? 'unset'} (pod or container)`);
  }
  if (sc.procMount !== undefined && sc.procMount !== 'Default') {
    out.push(`${at}: procMount ${sc.procMount}`);
  }
  if (sc.readOnlyRootFilesystem !== true) {
    out.push(`${at}: readOnlyRootFilesystem is not true`);
  }
  for (const port of container.ports ?? []) {
    if (port.hostPort !== undefined && port.hostPort !== 0) {
      out.push(`${at}: hostPort ${port.hostPort}`);
    }
  }
  const requests = container.resources?.requests ?? {};
  const limits = container.resources?.limits ?? {};
  for (const resource of ['cpu', 'memory']) {
    if (requests[resource] === undefined) {
      out.push(`${at}: no ${resource} request`);
    }
  }
  if (limits.memory === undefined) {
    out.push(`${at}: no memory limit`);
  }
  return out;
}

/** Violations of "restricted" (and our stricter rules) in one pod template. */
export function podSecurityViolationsOf(pod: PodTemplate): string[] {
  return [
    ...podLevel(pod),
    ...containersOf(pod.spec).flatMap(({ kind, container }) => containerLevel(pod, kind, container)),
  ].map((v) => `${pod.kind}/${pod.name}: ${v}`);
}

/** Violations in every pod template of the output. */
export function podSecurityViolations(objs: readonly K8sObject[]): string[] {
  return podTemplates(objs).flatMap(podSecurityViolationsOf);
}
