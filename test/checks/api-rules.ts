/**
 * Rules the Kubernetes API server (or the controllers) enforce that the OpenAPI schema does not
 * express: name formats, label syntax, port-name syntax, and references between objects (selectors,
 * named ports, volumes, ServiceAccounts, ConfigMaps, Ingress backends).
 */
import type { IContainer, IPodSpec, IProbe } from 'kubernetes-models/v1';
import { K8sObject, PodTemplate, allContainers, findAll, podTemplates } from '../util';

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const QUALIFIED_NAME = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;

/** Kinds whose name must be a DNS-1035 label (Service) or DNS-1123 label; others: DNS-1123 subdomain. */
const DNS1035_KINDS = ['Service'];
const DNS1123_LABEL_KINDS = ['Namespace'];
const CLUSTER_SCOPED = ['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'PersistentVolume', 'StorageClass',
  'PriorityClass', 'CustomResourceDefinition', 'ClusterIssuer', 'CertificateRequestPolicy'];

export function isDnsLabel(value: string): boolean {
  return value.length <= 63 && DNS1123_LABEL.test(value);
}

/** IANA_SVC_NAME: what container and Service port names must be when referenced by name. */
export function isPortName(value: string): boolean {
  return value.length <= 15 && /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(value) && /[a-z]/.test(value) &&
    !value.includes('--');
}

function metadataViolations(obj: K8sObject): string[] {
  const at = `${obj.kind}/${obj.metadata.name}`;
  const out: string[] = [];
  const name = obj.metadata.name ?? '';
  if (DNS1035_KINDS.includes(obj.kind)) {
    if (name.length > 63 || !DNS1035_LABEL.test(name)) {
      out.push(`${at}: name is not a DNS-1035 label (must start with a letter, at most 63 characters)`);
    }
  } else if (DNS1123_LABEL_KINDS.includes(obj.kind)) {
    if (!isDnsLabel(name)) {
      out.push(`${at}: name is not a DNS-1123 label`);
    }
  } else if (name.length > 253 || !DNS1123_SUBDOMAIN.test(name)) {
    out.push(`${at}: name is not a DNS-1123 subdomain`);
  }
  if (!CLUSTER_SCOPED.includes(obj.kind) && (obj.metadata.namespace === undefined || !isDnsLabel(obj.metadata.namespace))) {
    out.push(`${at}: namespace ${obj.metadata.namespace ?? 'unset'} is not a DNS label`);
  }
  // kubectl ignores it; server-side apply tools and Pulumi's yaml/v2 do not (a Namespace "in" itself is a cycle).
  if (CLUSTER_SCOPED.includes(obj.kind) && obj.metadata.namespace !== undefined) {
    out.push(`${at}: cluster-scoped, yet carries namespace ${obj.metadata.namespace}`);
  }
  const labelSets = [obj.metadata.labels ?? {}];
  for (const pod of podTemplates([obj])) {
    labelSets.push(pod.metadata.labels ?? {});
  }
  for (const labels of labelSets) {
    for (const [key, value] of Object.entries(labels)) {
      if (!QUALIFIED_NAME.test(key) || key.split('/').pop()!.length > 63) {
        out.push(`${at}: label key ${key} is invalid`);
      }
      if (value.length > 63 || !LABEL_VALUE.test(value)) {
        out.push(`${at}: label ${key} value "${value}" is invalid`);
      }
    }
  }
  for (const key of Object.keys(obj.metadata.annotations ?? {})) {
    if (!QUALIFIED_NAME.test(key)) {
      out.push(`${at}: annotation key ${key} is invalid`);
    }
  }
  return out;
}

function probePort(probe: IProbe | undefined): string | number | undefined {
  return probe?.tcpSocket?.port ?? probe?.httpGet?.port ?? probe?.grpc?.port;
}

function containerViolations(container: IContainer, volumes: ReadonlySet<string>): string[] {
  const out: string[] = [];
  if (!isDnsLabel(container.name)) {
    out.push(`container name ${container.name} is not a DNS label`);
  }
  const portNames = new Set<string>();
  for (const port of container.ports ?? []) {
    if (port.name !== undefined) {
      if (!isPortName(port.name)) {
        out.push(`container ${container.name}: port name ${port.name} is not an IANA service name (<= 15 chars)`);
      }
      portNames.add(port.name);
    }
    if (port.containerPort < 1 || port.containerPort > 65535) {
      out.push(`container ${container.name}: containerPort ${port.containerPort} out of range`);
    }
  }
  for (const probe of [container.livenessProbe, container.readinessProbe, container.startupProbe]) {
    const port = probePort(probe);
    if (typeof port === 'string' && !portNames.has(port)) {
      out.push(`container ${container.name}: probe port ${port} is not a container port name`);
    }
  }
  const envNames = new Set<string>();
  for (const env of container.env ?? []) {
    if (!ENV_NAME.test(env.name)) {
      out.push(`container ${container.name}: env name ${env.name} is invalid`);
    }
    if (envNames.has(env.name)) {
      out.push(`container ${container.name}: env ${env.name} is set twice`);
    }
    envNames.add(env.name);
  }
  const mountPaths = new Set<string>();
  for (const mount of container.volumeMounts ?? []) {
    if (!volumes.has(mount.name)) {
      out.push(`container ${container.name}: mounts missing volume ${mount.name}`);
    }
    if (mountPaths.has(mount.mountPath)) {
      out.push(`container ${container.name}: mountPath ${mount.mountPath} used twice`);
    }
    mountPaths.add(mount.mountPath);
  }
  return out;
}

function namesIn(objs: readonly K8sObject[], kind: string, namespace: string | undefined): Set<string> {
  return new Set(findAll(objs, kind).filter((o) => o.metadata.namespace === namespace).map((o) => o.metadata.name));
}

function podViolations(pod: PodTemplate, owner: K8sObject, objs: readonly K8sObject[]): string[] {
  const spec: IPodSpec = pod.spec;
  const namespace = owner.metadata.namespace;
  const out: string[] = [];
  const volumeNames = new Set<string>();
  for (const volume of spec.volumes ?? []) {
    if (!isDnsLabel(volume.name) || volumeNames.has(volume.name)) {
      out.push(`volume ${volume.name} is not a unique DNS label`);
    }
    volumeNames.add(volume.name);
    if (volume.configMap !== undefined && !namesIn(objs, 'ConfigMap', namespace).has(volume.configMap.name ?? '')) {
      out.push(`volume ${volume.name} references missing ConfigMap ${volume.configMap.name}`);
    }
  }
  const claimTemplates = ((owner.spec as { volumeClaimTemplates?: { metadata?: { name?: string } }[] } | undefined)
    ?.volumeClaimTemplates ?? []).map((t) => t.metadata?.name ?? '');
  claimTemplates.forEach((n) => volumeNames.add(n));
  const containers = allContainers(spec);
  const containerNames = containers.map((c) => c.name);
  if (new Set(containerNames).size !== containerNames.length) {
    out.push(`container names are not unique: ${containerNames.join(', ')}`);
  }
  const podPortNames = containers.flatMap((c) => (c.ports ?? []).map((p) => p.name).filter((n) => n !== undefined));
  if (new Set(podPortNames).size !== podPortNames.length) {
    out.push(`port names are not unique in the pod: ${podPortNames.join(', ')}`);
  }
  out.push(...containers.flatMap((c) => containerViolations(c, volumeNames)));
  const account = spec.serviceAccountName;
  if (account !== undefined && account !== 'default' && !namesIn(objs, 'ServiceAccount', namespace).has(account)) {
    out.push(`serviceAccountName ${account} does not exist`);
  }
  if (owner.kind === 'Job' || owner.kind === 'CronJob') {
    if (spec.restartPolicy !== 'OnFailure' && spec.restartPolicy !== 'Never') {
      out.push(`restartPolicy ${spec.restartPolicy ?? 'unset'} is not allowed for a Job`);
    }
  }
  const selector = (owner.spec as { selector?: { matchLabels?: Record<string, string> } } | undefined)?.selector;
  if (selector?.matchLabels !== undefined && !matches(selector.matchLabels, pod.metadata.labels)) {
    out.push('selector does not match the pod template labels');
  }
  return out.map((v) => `${pod.kind}/${pod.name}: ${v}`);
}

function matches(selector: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean {
  if (selector === undefined || Object.keys(selector).length === 0) {
    return false;
  }
  return Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}

/** Pod templates in `namespace` whose labels a selector matches. */
export function selectedPods(objs: readonly K8sObject[], namespace: string | undefined,
  selector: Record<string, string> | undefined): PodTemplate[] {
  const owners = new Map(objs.map((o) => [`${o.kind}/${o.metadata.name}`, o]));
  return podTemplates(objs).filter((p) => owners.get(`${p.kind}/${p.name}`)?.metadata.namespace === namespace &&
    matches(selector, p.metadata.labels));
}

function serviceViolations(objs: readonly K8sObject[]): string[] {
  return findAll(objs, 'Service').flatMap((svc) => {
    const at = `Service/${svc.metadata.name}`;
    const pods = selectedPods(objs, svc.metadata.namespace, svc.spec?.selector);
    if (pods.length === 0) {
      return [`${at}: selector matches no pod template`];
    }
    const ports = svc.spec?.ports ?? [];
    const out: string[] = [];
    if (ports.length > 1 && ports.some((p) => p.name === undefined)) {
      out.push(`${at}: every port must be named when there are several`);
    }
    for (const port of ports) {
      const target = port.targetPort ?? port.port;
      for (const pod of pods) {
        const containerPorts = allContainers(pod.spec).flatMap((c) => c.ports ?? []);
        const found = typeof target === 'string' ? containerPorts.some((p) => p.name === target)
          : containerPorts.some((p) => p.containerPort === target);
        if (!found) {
          out.push(`${at}: targetPort ${target} is not a port of ${pod.kind}/${pod.name}`);
        }
      }
    }
    return out;
  });
}

function selectorViolations(objs: readonly K8sObject[]): string[] {
  return findAll(objs, 'PodDisruptionBudget').flatMap((pdb) =>
    (selectedPods(objs, pdb.metadata.namespace, pdb.spec?.selector?.matchLabels).length === 0
      ? [`PodDisruptionBudget/${pdb.metadata.name}: selector matches no pod template`] : []));
}

/** Ingress rule hosts: a DNS-1123 subdomain (labels of at most 63 characters), optionally with a leading `*.`. */
export function isIngressHost(host: string): boolean {
  const name = host.startsWith('*.') ? host.slice(2) : host;
  return name.length <= 253 && DNS1123_SUBDOMAIN.test(name) && name.split('.').every((label) => label.length <= 63);
}

function ingressViolations(objs: readonly K8sObject[]): string[] {
  return findAll(objs, 'Ingress').flatMap((ing) => (ing.spec?.rules ?? []).flatMap((rule) => [
    ...(rule.host !== undefined && !isIngressHost(rule.host) ? [`Ingress/${ing.metadata.name}: host ${rule.host} is invalid`] : []),
    ...(rule.http?.paths ?? []).flatMap((path) => {
      const backend = path.backend.service;
      const svc = findAll(objs, 'Service').find((s) => s.metadata.name === backend?.name &&
        s.metadata.namespace === ing.metadata.namespace);
      if (svc === undefined) {
        return [`Ingress/${ing.metadata.name}: backend Service ${backend?.name} does not exist`];
      }
      const ok = (svc.spec?.ports ?? []).some((p) => (backend?.port?.name !== undefined
        ? p.name === backend.port.name : p.port === backend?.port?.number));
      return ok ? [] : [`Ingress/${ing.metadata.name}: backend port is not a port of Service/${svc.metadata.name}`];
    }),
  ]));
}

function statefulSetViolations(objs: readonly K8sObject[]): string[] {
  return findAll(objs, 'StatefulSet').flatMap((sts) => {
    const svc = findAll(objs, 'Service').find((s) => s.metadata.name === sts.spec?.serviceName &&
      s.metadata.namespace === sts.metadata.namespace);
    return svc?.spec?.clusterIP === 'None' ? []
      : [`StatefulSet/${sts.metadata.name}: serviceName ${sts.spec?.serviceName} is not a headless Service`];
  });
}

/** Every API-server rule and cross-object reference problem in the output. */
export function apiRuleViolations(objs: readonly K8sObject[]): string[] {
  const owners = new Map(objs.map((o) => [`${o.kind}/${o.metadata.name}`, o]));
  const keys = objs.map((o) => `${o.apiVersion}/${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`);
  const duplicates = keys.filter((k, i) => keys.indexOf(k) !== i).map((k) => `duplicate object ${k}`);
  return [
    ...duplicates,
    ...objs.flatMap(metadataViolations),
    ...podTemplates(objs).flatMap((pod) => podViolations(pod, owners.get(`${pod.kind}/${pod.name}`)!, objs)),
    ...serviceViolations(objs),
    ...selectorViolations(objs),
    ...ingressViolations(objs),
    ...statefulSetViolations(objs),
  ];
}
