import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { ComponentDescription, Components, endpointAddress, IComponent } from '../core/component';
import { IMAGE_USERS } from '../core/images';
import { componentLabels, selectorLabels } from '../core/labels';
import {
  ComputeResources, restrictedContainerSecurityContext, restrictedPodBasics, TMP_MOUNT, TMP_VOLUME, toResourceRequirements,
} from '../core/pod-security';
import { rollback } from '../core/rollback';
import { requireUnusedNames } from '../core/unique';
import { adminRoute } from './call-graph';
import { TemporalCluster } from './cluster';

export interface TemporalAdminToolsProps {
  readonly cluster: TemporalCluster;
  /** @default { cpu: '10m', memory: '64Mi', memoryLimit: '256Mi' } */
  readonly resources?: ComputeResources;
}

/**
 * Admin tools: one pod with the `temporal` CLI, `temporal-sql-tool` and `tdbg`, pre-pointed at the
 * cluster (`kubectl exec -it deploy/<name>-admintools -- temporal operator cluster health`).
 */
export class TemporalAdminTools extends Construct implements IComponent {
  public readonly name: string;
  public readonly deployment: k8s.KubeDeployment;
  public readonly selector: Record<string, string>;
  /** `host:port` the CLI in the pod talks to (`TEMPORAL_ADDRESS`). */
  public readonly address: string;
  public readonly description: ComponentDescription;

  constructor(scope: Construct, id: string, props: TemporalAdminToolsProps) {
    super(scope, id);
    try {
      const { cluster } = props;
      this.name = `${cluster.name}-admintools`;
      const labels = componentLabels(cluster.name, 'admintools');
      this.selector = selectorLabels(cluster.name, 'admintools');
      const target = cluster.adminEndpoint;
      this.address = endpointAddress(target);
      const resources = toResourceRequirements(this.node.path, props.resources ??
        { cpu: '10m', memory: '64Mi', memoryLimit: '256Mi' });
      requireUnusedNames(this, [{ kind: 'Deployment', name: this.name }], 'run one admin tools Deployment per cluster');
      const tls = cluster.adminClientTls(this, 'Client', 'admintools');
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
                  { name: 'TEMPORAL_ADDRESS', value: this.address },
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
      this.description = {
        id: 'admintools',
        workload: this.deployment,
        selector: this.selector,
        ports: [],
        calls: [{ to: target, category: 'admin', purpose: `operator CLI (${adminRoute(target)})` }],
        presents: tls ? [tls.identity] : [],
      };
      Components.register(this);
    } catch (error) {
      rollback(this, error);
    }
  }
}
