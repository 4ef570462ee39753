import { podSecurityViolations } from './pod-security';
import { defaultOutput, mutated } from './mutate';

const POD = 'spec.template.spec';
const C0 = `${POD}.containers[0]`;

describe('podSecurityViolations', () => {
  it('does accept the default output', () => {
    expect(podSecurityViolations(defaultOutput())).toEqual([]);
  });

  it.each([
    ['privileged', `${C0}.securityContext.privileged`, true, 'container frontend: privileged'],
    ['privilege escalation allowed', `${C0}.securityContext.allowPrivilegeEscalation`, true, 'allowPrivilegeEscalation is not false'],
    ['privilege escalation unset', `${C0}.securityContext.allowPrivilegeEscalation`, undefined, 'allowPrivilegeEscalation is not false'],
    ['capabilities kept', `${C0}.securityContext.capabilities.drop`, [], 'capabilities do not drop ALL'],
    ['a capability added', `${C0}.securityContext.capabilities.add`, ['NET_ADMIN'], 'capabilities add NET_ADMIN'],
    ['a writable root filesystem', `${C0}.securityContext.readOnlyRootFilesystem`, false, 'readOnlyRootFilesystem is not true'],
    ['root user on the container', `${C0}.securityContext.runAsUser`, 0, 'runAsUser is 0'],
    ['root user on the pod', `${POD}.securityContext.runAsUser`, 0, 'pod runAsUser is 0'],
    ['host network', `${POD}.hostNetwork`, true, 'hostNetwork is true'],
    ['host PID', `${POD}.hostPID`, true, 'hostPID is true'],
    ['host IPC', `${POD}.hostIPC`, true, 'hostIPC is true'],
    ['a hostPath volume', `${POD}.volumes[0].hostPath`, { path: '/' }, 'volume config uses hostPath'],
    ['a host port', `${C0}.ports[0].hostPort`, 7233, 'hostPort 7233'],
    ['an unconfined seccomp profile', `${C0}.securityContext.seccompProfile.type`, 'Unconfined', 'seccompProfile is Unconfined'],
    ['no cpu request', `${C0}.resources.requests.cpu`, undefined, 'no cpu request'],
    ['no memory request', `${C0}.resources.requests.memory`, undefined, 'no memory request'],
    ['no memory limit', `${C0}.resources.limits.memory`, undefined, 'no memory limit'],
  ])('does flag %s', (_what, path, value, message) => {
    const violations = podSecurityViolations(mutated('Deployment', 'temporal-frontend', path, value));
    expect(violations.length).toBeGreaterThan(0);
    expect(violations.every((v) => v.startsWith('Deployment/temporal-frontend: '))).toBe(true);
    expect(violations.join('\n')).toContain(message);
  });

  it('does flag runAsNonRoot missing at both pod and container level', () => {
    const objs = mutated('Deployment', 'temporal-web', `${POD}.securityContext.runAsNonRoot`, undefined);
    expect(podSecurityViolations(objs)).toEqual([]);
    const both = mutated('Deployment', 'temporal-web', `${POD}.securityContext.runAsNonRoot`, undefined);
    const web = both.find((o) => o.kind === 'Deployment' && o.metadata.name === 'temporal-web')!;
    const container = ((web.spec as { template: { spec: { containers: { securityContext: Record<string, unknown> }[] } } })
      .template.spec.containers[0]);
    delete container.securityContext.runAsNonRoot;
    expect(podSecurityViolations(both)).toEqual(['Deployment/temporal-web: container web: runAsNonRoot is not true (pod or container)']);
  });

  it('does accept seccomp set at the pod level only', () => {
    const objs = mutated('Deployment', 'temporal-web', `${C0}.securityContext.seccompProfile`, undefined);
    expect(podSecurityViolations(objs)).toEqual([]);
  });

  it('does check init containers too', () => {
    const job = defaultOutput().find((o) => o.kind === 'Job' && o.metadata.name.startsWith('temporal-schema-default-'))!;
    const objs = mutated('Job', job.metadata.name, `${POD}.initContainers[0].securityContext.readOnlyRootFilesystem`, false);
    expect(podSecurityViolations(objs)).toEqual([
      `Job/${job.metadata.name}: init container create-database: readOnlyRootFilesystem is not true`,
    ]);
  });
});
