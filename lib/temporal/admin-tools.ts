import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { rollback } from '../atomic';
import { TemporalCluster } from './cluster';
import { IMAGE_USERS } from './images';
import { componentLabels, selectorLabels } from './labels';
import { TMP_MOUNT, TMP_VOLUME } from './pod';
import {
  ComputeResources, restrictedContainerSecurityContext, restrictedPodBasics, toResourceRequirements,
} from './security';

export interface TemporalAdminToolsProps {
  readonly cluster: TemporalCluster;
  /** @default { cpu: '10m', memory: '64Mi', memoryLimit: '256Mi' } */
  readonly resources?: ComputeResources;
}

/**
 * Admin tools: one pod with the `temporal` CLI, `temporal-sql-tool` and `tdbg`, pre-pointed at the
 * cluster (`kubectl exec -it deploy/<name>-admintools -- temporal operator cluster health`).
 */
export class TemporalAdminTools extends Construct {
  public readonly name: string;
  public readonly deployment: k8s.KubeDeployment;
  public readonly selector: Record<string, string>;
  /** `host:port` the CLI in the pod talks to (`TEMPORAL_ADDRESS`). */
  public readonly address: string;

  constructor(scope: Construct, id: string, props: TemporalAdminToolsProps) {
    super(scope, id);
    try {
      const { cluster } = props;
      this.name = `${cluster.name}-admintools`;
      const labels = componentLabels(cluster.name, 'admintools');
      this.selector = selectorLabels(cluster.name, 'admintools');
      this.address = cluster.adminAddress;
      const resources = toResourceRequirements(this.node.path, props.resources ??
        { cpu: '10m', memory: '64Mi', memoryLimit: '256Mi' });
      const tls = cluster.adminClientTls('AdminToolsClient', 'admintools');
      const account = new k8s.KubeServiceAccount(this, 'ServiceAccount', {
        metadata: { name: this.name, labels },
        automountServiceAccountToken: false,
      });
      this.deployment = new k8s.KubeDeployment(this, 'Deployment', {
        metadata: { name: this.name, labels },
        spec: {
          replicas: 1,
          revisionHistoryLimit: 5,
          selector: { matchLabels: this.selector },
          template: {
            metadata: { labels },
            spec: {
              ...restrictedPodBasics(account.name, IMAGE_USERS.adminTools),
              terminationGracePeriodSeconds: 5,
              containers: [{
                name: 'admintools',
                image: cluster.adminToolsImage,
                imagePullPolicy: 'IfNotPresent',
                command: ['sh', '-c', 'trap exit INT HUP TERM; sleep infinity & wait'],
                env: [
                  { name: 'TEMPORAL_ADDRESS', value: cluster.adminAddress },
                  { name: 'HOME', value: '/tmp' },
                  ...(tls?.env ?? []),
                ],
                resources,
                securityContext: restrictedContainerSecurityContext(),
                volumeMounts: [TMP_MOUNT, ...(tls?.wiring.mounts ?? [])],
              }],
              volumes: [TMP_VOLUME, ...(tls?.wiring.volumes ?? [])],
            },
          },
        },
      });
    } catch (error) {
      rollback(this, error);
    }
  }
}
