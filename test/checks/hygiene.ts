/**
 * Supply-chain and secret hygiene over the whole output: pinned images, no node-exposed Services, no
 * secret as a literal env value or in a ConfigMap.
 */
import { K8sObject, allContainers, findAll, podTemplates } from '../util';

const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;
/** The image reference grammar (distribution/reference): optional registry, lower-case path, tag, digest. */
const DOMAIN = '(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?/)?';
const COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const REFERENCE = new RegExp(`^${DOMAIN}${COMPONENT}(?:/${COMPONENT})*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$`);

/** Why an image reference is not pinned, or undefined when it is (`repo:tag` other than latest, or a digest). */
export function imageProblem(image: string | undefined): string | undefined {
  if (image === undefined || image === '') {
    return 'no image';
  }
  if (/\s/.test(image)) {
    return 'contains whitespace';
  }
  const at = image.indexOf('@');
  if (at >= 0 && !DIGEST.test(image.slice(at + 1))) {
    return 'malformed digest';
  }
  if (!REFERENCE.test(image)) {
    return 'not a valid image reference';
  }
  if (at >= 0) {
    return undefined;
  }
  const last = image.split('/').pop() ?? '';
  const colon = last.indexOf(':');
  if (colon < 0) {
    return 'no tag';
  }
  const tag = last.slice(colon + 1);
  if (tag === 'latest') {
    return 'tag latest';
  }
  return TAG.test(tag) ? undefined : 'malformed tag';
}

/** Every container image that is not pinned to an exact tag or digest. */
export function imageViolations(objs: readonly K8sObject[]): string[] {
  return podTemplates(objs).flatMap((pod) => allContainers(pod.spec).flatMap((c) => {
    const problem = imageProblem(c.image);
    return problem === undefined ? [] : [`${pod.kind}/${pod.name}: container ${c.name} image ${c.image}: ${problem}`];
  }));
}

/** Services exposed on nodes or outside the cluster. */
export function serviceExposureViolations(objs: readonly K8sObject[]): string[] {
  return findAll(objs, 'Service').flatMap((svc) => {
    const out: string[] = [];
    const type = svc.spec?.type ?? 'ClusterIP';
    if (type === 'NodePort' || type === 'LoadBalancer' || type === 'ExternalName') {
      out.push(`Service/${svc.metadata.name}: type ${type}`);
    }
    if ((svc.spec?.externalIPs ?? []).length > 0) {
      out.push(`Service/${svc.metadata.name}: externalIPs`);
    }
    if ((svc.spec?.ports ?? []).some((p) => p.nodePort !== undefined)) {
      out.push(`Service/${svc.metadata.name}: nodePort`);
    }
    return out;
  });
}

const SECRET_NAME = /PASSWORD|SECRET|TOKEN|KEY/i;

/** The literal values of every Secret in the output (stringData, and data decoded from base64). */
export function secretValues(objs: readonly K8sObject[]): string[] {
  return findAll(objs, 'Secret').flatMap((s) => [
    ...Object.values((s as { stringData?: Record<string, string> }).stringData ?? {}),
    ...Object.values(s.data ?? {}).map((v) => Buffer.from(v, 'base64').toString('utf8')),
  ]).filter((v) => v.length >= 4);
}

/**
 * Env vars that carry a secret as a literal: a name matching PASSWORD/SECRET/TOKEN/KEY with a literal
 * `value` (except a value that is a path to a file inside a mounted Secret volume, such as
 * `POSTGRES_PASSWORD_FILE` or `TEMPORAL_TLS_KEY`: the name points at the secret, it is not the secret, or a folder
 * whose every mount is a Secret, such as the codec server's folder of per-namespace key rings),
 * or any literal equal to a known secret value.
 */
export function secretLiteralViolations(objs: readonly K8sObject[], knownSecrets: readonly string[] = []): string[] {
  const secrets = [...knownSecrets, ...secretValues(objs)];
  return podTemplates(objs).flatMap((pod) => {
    const secretVolumes = new Set((pod.spec.volumes ?? [])
      .filter((v) => v.secret !== undefined || (v.projected?.sources ?? []).some((s) => s.secret !== undefined))
      .map((v) => v.name));
    return allContainers(pod.spec).flatMap((c) => {
      const secretMounts = (c.volumeMounts ?? []).filter((m) => secretVolumes.has(m.name)).map((m) => m.mountPath);
      return (c.env ?? []).flatMap((e) => {
        if (e.value === undefined) {
          return [];
        }
        const at = `${pod.kind}/${pod.name}: container ${c.name} env ${e.name}`;
        if (secrets.some((s) => e.value?.includes(s))) {
          return [`${at}: literal value contains a secret`];
        }
        // A switch (`TEMPORAL_CODEC_PASS_ACCESS_TOKEN: "true"`) names a secret but holds none.
        if (!SECRET_NAME.test(e.name) || e.value === 'true' || e.value === 'false') {
          return [];
        }
        const value = e.value;
        // A path into a mounted Secret, or a folder whose every mount is a Secret (a folder of key rings).
        const beneath = (c.volumeMounts ?? []).filter((m) => m.mountPath.startsWith(`${value}/`));
        const fileInSecret = secretMounts.some((dir) => value === dir || value.startsWith(`${dir}/`))
          || (beneath.length > 0 && beneath.every((m) => secretVolumes.has(m.name)));
        return fileInSecret ? [] : [`${at}: secret-like name with a literal value`];
      });
    });
  });
}

/** ConfigMaps whose data contains any known secret value (Secrets' own values included). */
export function configMapSecretViolations(objs: readonly K8sObject[], knownSecrets: readonly string[] = []): string[] {
  const secrets = [...knownSecrets, ...secretValues(objs)];
  return findAll(objs, 'ConfigMap').flatMap((cm) => [
    ...Object.entries(cm.data ?? {}),
    ...Object.entries(cm.binaryData ?? {}).map(([k, v]): [string, string] => [k, Buffer.from(v, 'base64').toString('utf8')]),
  ]
    .filter(([, value]) => secrets.some((s) => value.includes(s)))
    .map(([key]) => `ConfigMap/${cm.metadata.name}: key ${key} contains a secret value`));
}
