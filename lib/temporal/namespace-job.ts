import { Duration } from 'cdk8s';
import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { ComponentDescription, Components, Endpoint, endpointAddress, IComponent } from '../core/component';
import { contentName } from '../core/content-name';
import { goDuration } from '../core/duration';
import { ValidationError } from '../core/errors';
import { IMAGE_USERS } from '../core/images';
import { componentLabels, selectorLabels } from '../core/labels';
import { requireTemporalNamespaceName } from '../core/names';
import {
  restrictedContainerSecurityContext, restrictedPodBasics, TMP_MOUNT, TMP_VOLUME, toResourceRequirements,
} from '../core/pod-security';
import { adminRoute } from './call-graph';
import type { ClientTls } from './cluster-tls';

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
  /** The frontend (or internal-frontend) gRPC endpoint the CLI talks to. */
  readonly target: Endpoint;
  readonly namespaces: readonly TemporalNamespaceProps[];
  readonly serviceAccountName: string;
  /** mTLS to the target: issues the CLI's certificate into the Job's scope. @default - plaintext */
  readonly tls?: (scope: Construct) => ClientTls | undefined;
}

/** A Job that registers the declared Temporal namespaces with the `temporal` CLI of the admin tools image. */
export class NamespaceRegistration extends Construct implements IComponent {
  public readonly job: k8s.KubeJob;
  public readonly namespaces: readonly ResolvedTemporalNamespace[];
  /** Labels that select this Job's pods. */
  public readonly selector: Record<string, string>;
  /** `host:port` the Job's CLI talks to. */
  public readonly address: string;
  public readonly description: ComponentDescription;

  constructor(scope: Construct, id: string, props: NamespaceRegistrationProps) {
    super(scope, id);
    this.namespaces = resolveNamespaces(this.node.path, props.namespaces);
    const labels = componentLabels(props.instance, 'namespaces');
    this.selector = selectorLabels(props.instance, 'namespaces');
    this.address = endpointAddress(props.target);
    const tls = props.tls?.(this);
    const container: k8s.Container = {
      name: 'register',
      image: props.image,
      imagePullPolicy: 'IfNotPresent',
      command: ['sh', '-c', namespaceScript(this.namespaces)],
      env: [
        { name: 'TEMPORAL_ADDRESS', value: this.address },
        { name: 'HOME', value: '/tmp' },
        ...(tls?.env ?? []),
      ],
      resources: toResourceRequirements(this.node.path, { cpu: '50m', memory: '64Mi', memoryLimit: '256Mi' }),
      securityContext: restrictedContainerSecurityContext(),
      volumeMounts: [TMP_MOUNT, ...(tls?.wiring.mounts ?? [])],
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
            volumes: [TMP_VOLUME, ...(tls?.wiring.volumes ?? [])],
          },
        },
      },
    });
    this.description = {
      id: 'namespaces',
      workload: this.job,
      selector: this.selector,
      ports: [],
      calls: [{ to: props.target, category: 'admin', purpose: `registers namespaces (${adminRoute(props.target)})` }],
      presents: tls ? [tls.identity] : [],
    };
    Components.register(this);
  }
}
