/**
 * Turns a workload's pod template into local processes: volumes become directories under a temp dir,
 * written like the kubelet writes them (ConfigMap files with the rewrites applied, programs excepted; Secret files as they
 * are; projected volumes from their secret and configMap sources), env is resolved as the kubelet would
 * (values, Secret and ConfigMap keys, the downward API, `$(VAR)` expansion) and the container's
 * command + args become the argv. Nothing else is taken from anywhere but the manifests.
 */
import { existsSync, mkdirSync, symlinkSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { IContainer, IEnvFromSource, IEnvVar, IKeyToPath, IPodSpec, IVolume } from 'kubernetes-models/v1';
import { findObject, KubeObject, podSpec, Secrets } from './manifests';
import { expandKubernetes, Rewriter } from './rewrite';
import { writeVolume } from './volumes';

/** One container to run as a local process. */
export interface ProcessSpec {
  /** `<pod>/<container>`, used for log file names. */
  readonly name: string;
  /** command + args, after `$(VAR)` expansion and rewrites; argv[0] is looked up on PATH. */
  readonly argv: readonly string[];
  /** The container's image: the runner runs the binaries of its release (peers.ts `releaseBinDir`). */
  readonly image?: string;
  /** The container's env only (the runner adds PATH). */
  readonly env: Readonly<Record<string, string>>;
  readonly cwd: string;
}

export interface LocalPod {
  readonly name: string;
  readonly dir: string;
  /** Init containers, in order. */
  readonly initContainers: readonly ProcessSpec[];
  readonly containers: readonly ProcessSpec[];
  /**
   * What the kubelet does when a Secret changes: rewrites every Secret, ConfigMap and projected volume
   * of the pod from `secrets`, each in one atomic swap (volumes.ts). Running processes see new files.
   */
  syncVolumes(secrets: Secrets): void;
}

export interface PodOptions {
  /** All synthesized objects (ConfigMaps are looked up here). */
  readonly objects: readonly KubeObject[];
  /** Deployment, StatefulSet or Job. */
  readonly workload: KubeObject;
  /** Local pod name (metadata.name of the downward API); also its directory name. */
  readonly podName: string;
  /** Parent directory; the pod gets `<root>/<podName>`. */
  readonly root: string;
  readonly secrets: Secrets;
  /** Host and port rewrites; the pod adds its mount paths. */
  readonly rewriter: Rewriter;
  /** status.podIP (and status.hostIP) of the downward API. @default '127.0.0.1' */
  readonly podIp?: string;
}

function keyItems(data: Readonly<Record<string, string>>, items: readonly IKeyToPath[] | undefined, what: string):
  { path: string; value: string; mode?: number }[] {
  if (items === undefined) {
    return Object.entries(data).map(([key, value]) => ({ path: key, value }));
  }
  return items.map((item) => {
    const value = data[item.key];
    if (value === undefined) {
      throw new Error(`${what} has no key ${item.key}`);
    }
    return { path: item.path, value, mode: item.mode };
  });
}

/** The kubelet's default file mode of Secret, ConfigMap and projected volumes. */
const DEFAULT_MODE = 0o644;

interface SourceFile {
  readonly path: string;
  readonly value: string;
  readonly mode?: number;
  /** ConfigMap content (config files) is rewritten; Secret content (keys, certificates) never is. */
  readonly rewrite: boolean;
}

function configMapFiles(opts: PodOptions, ref: { name?: string; items?: IKeyToPath[]; optional?: boolean }): SourceFile[] {
  if (ref.optional === true && !opts.objects.some((o) => o.kind === 'ConfigMap' && o.metadata.name === ref.name)) {
    return [];
  }
  const cm = findObject(opts.objects, 'ConfigMap', ref.name ?? '');
  // A program shipped in a ConfigMap (`.js`) is code, not configuration: it runs as it is.
  return keyItems(cm.data ?? {}, ref.items, `ConfigMap ${cm.metadata.name}`).map((f) => ({ ...f, rewrite: !f.path.endsWith('.js') }));
}

function secretFiles(opts: PodOptions, name: string, ref: { items?: IKeyToPath[]; optional?: boolean }, what: string): SourceFile[] {
  const data = opts.secrets[name];
  if (data === undefined) {
    if (ref.optional === true) {
      return [];
    }
    throw new Error(`${what}: Secret ${name} is not in the test secrets`);
  }
  return keyItems(data, ref.items, `Secret ${name}`).map((f) => ({ ...f, rewrite: false }));
}

/** Files of a volume (content not yet rewritten), or undefined for an empty directory. */
function volumeFiles(opts: PodOptions, volume: IVolume): (SourceFile & { mode: number })[] | undefined {
  const withMode = (files: SourceFile[], defaultMode?: number) =>
    files.map((f) => ({ ...f, mode: f.mode ?? defaultMode ?? DEFAULT_MODE }));
  if (volume.emptyDir !== undefined) {
    return undefined;
  }
  if (volume.configMap !== undefined) {
    return withMode(configMapFiles(opts, volume.configMap), volume.configMap.defaultMode);
  }
  if (volume.secret !== undefined) {
    return withMode(secretFiles(opts, volume.secret.secretName ?? '', volume.secret, `volume ${volume.name}`),
      volume.secret.defaultMode);
  }
  if (volume.projected !== undefined) {
    const files = (volume.projected.sources ?? []).flatMap((source): SourceFile[] => {
      if (source.secret !== undefined) {
        return secretFiles(opts, source.secret.name ?? '', source.secret, `volume ${volume.name}`);
      }
      if (source.configMap !== undefined) {
        return configMapFiles(opts, source.configMap);
      }
      throw new Error(`volume ${volume.name}: only secret and configMap projections are supported by the harness`);
    });
    return withMode(files, volume.projected.defaultMode);
  }
  throw new Error(`volume ${volume.name}: only configMap, secret, projected and emptyDir volumes are supported by the harness`);
}

/** mountPath -> local directory for every container of the pod. */
function mountMap(spec: IPodSpec, volumeDir: (name: string) => string): Map<string, string> {
  const mounts = new Map<string, string>();
  for (const container of [...(spec.initContainers ?? []), ...spec.containers]) {
    for (const m of container.volumeMounts ?? []) {
      if (m.subPath !== undefined || m.subPathExpr !== undefined) {
        throw new Error(`container ${container.name}: subPath mounts are not supported by the harness`);
      }
      const local = volumeDir(m.name);
      const existing = mounts.get(m.mountPath);
      if (existing !== undefined && existing !== local) {
        throw new Error(`containers mount different volumes at ${m.mountPath}; the harness shares one path map per pod`);
      }
      mounts.set(m.mountPath, local);
    }
  }
  return mounts;
}

function fieldRef(opts: PodOptions, fieldPath: string): string {
  const podIp = opts.podIp ?? '127.0.0.1';
  switch (fieldPath) {
    case 'status.podIP':
    case 'status.hostIP':
      return podIp;
    case 'metadata.name':
      return opts.podName;
    case 'metadata.namespace':
      return opts.workload.metadata.namespace ?? 'default';
    default:
      throw new Error(`fieldRef ${fieldPath} is not supported by the harness`);
  }
}

function envFrom(opts: PodOptions, source: IEnvFromSource): Record<string, string> {
  const prefix = source.prefix ?? '';
  let data: Readonly<Record<string, string>> | undefined;
  if (source.configMapRef !== undefined) {
    data = findObject(opts.objects, 'ConfigMap', source.configMapRef.name ?? '').data ?? {};
  } else if (source.secretRef !== undefined) {
    data = opts.secrets[source.secretRef.name ?? ''];
    if (data === undefined && source.secretRef.optional !== true) {
      throw new Error(`envFrom: Secret ${source.secretRef.name} is not in the test secrets`);
    }
  }
  return Object.fromEntries(Object.entries(data ?? {}).map(([k, v]) => [`${prefix}${k}`, v]));
}

/** One env var as the kubelet resolves it, before `$(VAR)` expansion; undefined when optional and absent. */
function envValue(opts: PodOptions, v: IEnvVar): string | undefined {
  const from = v.valueFrom;
  if (from === undefined) {
    return v.value ?? '';
  }
  if (from.secretKeyRef !== undefined) {
    const { name = '', key, optional } = from.secretKeyRef;
    const value = opts.secrets[name]?.[key];
    if (value === undefined && optional !== true) {
      throw new Error(`env ${v.name}: Secret ${name} key ${key} is not in the test secrets`);
    }
    return value;
  }
  if (from.configMapKeyRef !== undefined) {
    const { name = '', key, optional } = from.configMapKeyRef;
    const value = findObject(opts.objects, 'ConfigMap', name).data?.[key];
    if (value === undefined && optional !== true) {
      throw new Error(`env ${v.name}: ConfigMap ${name} has no key ${key}`);
    }
    return value;
  }
  if (from.fieldRef !== undefined) {
    return fieldRef(opts, from.fieldRef.fieldPath);
  }
  throw new Error(`env ${v.name}: only value, secretKeyRef, configMapKeyRef and fieldRef are supported by the harness`);
}

/** The container's env as the kubelet builds it: envFrom, then env in order with `$(VAR)` expansion. */
export function containerEnv(opts: PodOptions, container: IContainer): Record<string, string> {
  const env: Record<string, string> = {};
  for (const source of container.envFrom ?? []) {
    Object.assign(env, envFrom(opts, source));
  }
  for (const v of container.env ?? []) {
    const value = envValue(opts, v);
    if (value !== undefined) {
      env[v.name] = expandKubernetes(value, env);
    }
  }
  return env;
}

function processSpec(opts: PodOptions, container: IContainer, rewriter: Rewriter, cwd: string): ProcessSpec {
  const name = `${opts.podName}/${container.name}`;
  if (container.command === undefined || container.command.length === 0) {
    throw new Error(`${name}: no command; the harness runs the manifest's command, not an image entrypoint`);
  }
  const rawEnv = containerEnv(opts, container);
  const argv = [...container.command, ...(container.args ?? [])].map((a) => rewriter.text(expandKubernetes(a, rawEnv)));
  const workingDir = container.workingDir !== undefined ? rewriter.text(container.workingDir) : cwd;
  return { name, argv, env: rewriter.env(rawEnv), cwd: workingDir, ...(container.image ? { image: container.image } : {}) };
}

/** Materializes the pod's volumes under `<root>/<podName>` and returns its containers as processes. */
export function localPod(opts: PodOptions): LocalPod {
  const spec = podSpec(opts.workload);
  const dir = join(opts.root, opts.podName);
  const volumeDir = (name: string): string => join(dir, 'volumes', name);
  const mounts = mountMap(spec, volumeDir);
  let rewriter = opts.rewriter;
  for (const [mountPath, local] of mounts) {
    rewriter = rewriter.path(mountPath, local);
  }
  // A folder that holds mounts without being one (the container runtime makes it, e.g. the codec server's folder of
  // per-namespace key rings): a local folder of links to those mounts.
  const parents = new Set<string>();
  for (const [mountPath, local] of mounts) {
    const parent = dirname(mountPath);
    if (parent === '/' || mounts.has(parent) || [...mounts.keys()].some((m) => parent.startsWith(`${m}/`))) {
      continue;
    }
    const made = join(dir, 'parents', parent.slice(1).replace(/\//g, '_'));
    mkdirSync(made, { recursive: true });
    mkdirSync(local, { recursive: true });
    const link = join(made, basename(mountPath));
    if (!existsSync(link)) {
      symlinkSync(local, link);
    }
    if (!parents.has(parent)) {
      parents.add(parent);
      rewriter = rewriter.path(parent, made);
    }
  }
  const syncVolumes = (secrets: Secrets): void => {
    for (const volume of spec.volumes ?? []) {
      const files = volumeFiles({ ...opts, secrets }, volume);
      if (files === undefined) {
        mkdirSync(volumeDir(volume.name), { recursive: true });
      } else {
        writeVolume(volumeDir(volume.name), files.map((f) => ({
          path: f.path, mode: f.mode, content: f.rewrite ? rewriter.text(f.value) : f.value,
        })));
      }
    }
  };
  syncVolumes(opts.secrets);
  const cwd = join(dir, 'cwd');
  mkdirSync(cwd, { recursive: true });
  return {
    name: opts.podName,
    dir,
    initContainers: (spec.initContainers ?? []).map((c) => processSpec(opts, c, rewriter, cwd)),
    containers: spec.containers.map((c) => processSpec(opts, c, rewriter, cwd)),
    syncVolumes,
  };
}
