import { Duration } from 'cdk8s';
import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import type { ClientTls } from './cluster-tls';
import { ValidationError } from '../errors';
import { goDuration } from './duration';
import { IMAGE_USERS } from './images';
import { contentName } from './job';
import { componentLabels, selectorLabels } from './labels';
import { requireTemporalNamespaceName } from './names';
import { TMP_MOUNT, TMP_VOLUME } from './pod';
import { restrictedContainerSecurityContext, restrictedPodBasics, toResourceRequirements } from './security';

/** A Temporal namespace to register. */
export interface TemporalNamespaceProps {
  /** Namespace name, e.g. `default` or `orders-prod`. */
  readonly name: string;
  /**
   * How long closed workflow histories are kept (at least one day, Temporal's minimum).
   * @default Duration.days(3)
   */
  readonly retention?: Duration;
  /** @default - none */
  readonly description?: string;
}

export interface ResolvedTemporalNamespace {
  readonly name: string;
  readonly retention: string;
  readonly description: string;
}

export function resolveNamespaces(path: string, namespaces: readonly TemporalNamespaceProps[]): ResolvedTemporalNamespace[] {
  const seen = new Set<string>();
  return namespaces.map((ns, i) => {
    const at = `${path}/namespaces[${i}]`;
    const name = requireTemporalNamespaceName(at, ns.name);
    if (seen.has(name)) {
      throw new ValidationError('INVALID_NAMESPACE', at, 'namespace is declared twice', name, 'declare each namespace once');
    }
    seen.add(name);
    const description = ns.description ?? '';
    if (/[\n\r'\\]/.test(description) || description.length > 1000) {
      throw new ValidationError('INVALID_NAMESPACE', at,
        'description must be one line without quotes or backslashes, at most 1000 characters', description,
        'shorten the description');
    }
    return { name, retention: goDuration(at, 'retention', ns.retention ?? Duration.days(3), 86400), description };
  });
}

/**
 * The registration script: wait (bounded) until the frontend answers, then for each namespace update
 * its retention if it exists, else create it. Idempotent. Names and descriptions are validated to a
 * charset that needs no escaping inside single quotes. Pure.
 */
export function namespaceScript(namespaces: readonly ResolvedTemporalNamespace[]): string {
  const lines = [
    'set -eu',
    'attempt=0',
    'until temporal operator cluster health >/dev/null 2>&1; do',
    '  attempt=$((attempt + 1))',
    '  if [ "$attempt" -ge 60 ]; then echo "frontend at $TEMPORAL_ADDRESS is not healthy" >&2; exit 1; fi',
    '  sleep 5',
    'done',
    'ensure_once() {',
    '  if temporal operator namespace describe --namespace "$1" >/dev/null 2>&1; then',
    '    temporal operator namespace update --namespace "$1" --retention "$2" --description "$3"',
    '  else',
    '    temporal operator namespace create --namespace "$1" --retention "$2" --description "$3"',
    '  fi',
    '}',
    '# A namespace created moments ago may not be in the frontend\'s namespace cache yet: retry (bounded).',
    'ensure() {',
    '  tries=0',
    '  until ensure_once "$1" "$2" "$3"; do',
    '    tries=$((tries + 1))',
    '    if [ "$tries" -ge 12 ]; then echo "could not register namespace $1" >&2; return 1; fi',
    '    sleep 5',
    '  done',
    '}',
    ...namespaces.map((ns) => `ensure '${ns.name}' '${ns.retention}' '${ns.description}'`),
  ];
  return `${lines.join('\n')}\n`;
}

export interface NamespaceRegistrationProps {
  readonly instance: string;
  readonly image: string;
  /** `host:port` of the frontend (or internal-frontend) the CLI talks to. */
  readonly address: string;
  readonly namespaces: readonly TemporalNamespaceProps[];
  readonly serviceAccountName: string;
  /** mTLS to the frontend: the CLI's TLS env, certificate and trust anchor. @default - plaintext */
  readonly tls?: ClientTls;
}

/** A Job that registers the declared Temporal namespaces with the `temporal` CLI of the admin tools image. */
export class NamespaceRegistration extends Construct {
  public readonly job: k8s.KubeJob;
  public readonly namespaces: readonly ResolvedTemporalNamespace[];
  /** Labels that select this Job's pods. */
  public readonly selector: Record<string, string>;
  /** `host:port` the Job's CLI talks to. */
  public readonly address: string;

  constructor(scope: Construct, id: string, props: NamespaceRegistrationProps) {
    super(scope, id);
    this.namespaces = resolveNamespaces(this.node.path, props.namespaces);
    const labels = componentLabels(props.instance, 'namespaces');
    this.selector = selectorLabels(props.instance, 'namespaces');
    this.address = props.address;
    const container: k8s.Container = {
      name: 'register',
      image: props.image,
      imagePullPolicy: 'IfNotPresent',
      command: ['sh', '-c', namespaceScript(this.namespaces)],
      env: [
        { name: 'TEMPORAL_ADDRESS', value: props.address },
        { name: 'HOME', value: '/tmp' },
        ...(props.tls?.env ?? []),
      ],
      resources: toResourceRequirements(this.node.path, { cpu: '50m', memory: '64Mi', memoryLimit: '256Mi' }),
      securityContext: restrictedContainerSecurityContext(),
      volumeMounts: [TMP_MOUNT, ...(props.tls?.wiring.mounts ?? [])],
    };
    this.job = new k8s.KubeJob(this, 'Job', {
      metadata: { name: contentName(`${props.instance}-namespaces`, { image: props.image, container }), labels },
      spec: {
        backoffLimit: 30,
        template: {
          metadata: { labels },
          spec: {
            restartPolicy: 'OnFailure',
            ...restrictedPodBasics(props.serviceAccountName, IMAGE_USERS.adminTools),
            containers: [container],
            volumes: [TMP_VOLUME, ...(props.tls?.wiring.volumes ?? [])],
          },
        },
      },
    });
  }
}
