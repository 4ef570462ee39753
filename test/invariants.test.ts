/**
 * Whole-output invariants, over the default chart and several other configurations: every one must hold
 * for every object the library can synthesize. The checkers themselves are tested in test/checks/.
 */
import { App } from 'cdk8s';
import { apiRuleViolations } from './checks/api-rules';
import {
  configMapSecretViolations, imageViolations, secretLiteralViolations, serviceExposureViolations,
} from './checks/hygiene';
import { podSecurityViolations } from './checks/pod-security';
import { unknownFields, validateObject } from './checks/schema';
import { CONFIGURATIONS, Configuration, TEST_PASSWORDS, configurationOutput } from './fixtures';
import { K8sObject, findAll, podTemplates } from './util';

const outputs = new Map<string, K8sObject[]>(CONFIGURATIONS.map((c) => [c.name, configurationOutput(c)]));
const cases = CONFIGURATIONS.map((c): [string, Configuration] => [c.name, c]);
const objsOf = (c: Configuration): K8sObject[] => outputs.get(c.name) ?? [];

describe('whole-output invariants', () => {
  it('does cover the kinds the library emits', () => {
    const kinds = new Set([...outputs.values()].flat().map((o) => o.kind));
    for (const kind of ['Namespace', 'Deployment', 'StatefulSet', 'Job', 'Service', 'ConfigMap', 'ServiceAccount',
      'PodDisruptionBudget', 'Ingress', 'Secret', 'HorizontalPodAutoscaler']) {
      expect([kind, kinds.has(kind)]).toEqual([kind, true]);
    }
  });

  describe.each(cases)('%s', (_name, configuration) => {
    const objs = objsOf(configuration);

    it('does meet Pod Security Standards "restricted" (and read-only root, requests and memory limits) in every pod', () => {
      expect(podTemplates(objs).length).toBeGreaterThan(0);
      expect(podSecurityViolations(objs)).toEqual([]);
    });

    it('does pin every image to an exact tag or digest (no :latest, no untagged)', () => {
      expect(imageViolations(objs)).toEqual([]);
    });

    it('does expose no Service on nodes or load balancers', () => {
      expect(findAll(objs, 'Service').length).toBeGreaterThan(0);
      expect(serviceExposureViolations(objs)).toEqual([]);
    });

    it('does mount every private key (tls.key) readable by owner and group only', () => {
      const problems = podTemplates(objs).flatMap((pod) => (pod.spec.volumes ?? []).flatMap((v) => {
        const items = v.secret?.items ?? [];
        const keys = items.filter((i) => i.path.endsWith('.key') || i.key.endsWith('.key'));
        return keys.map((i) => ({ at: `${pod.kind}/${pod.name} volume ${v.name} ${i.path}`, mode: i.mode ?? v.secret?.defaultMode ?? 0o644 }))
          .filter(({ mode }) => (mode & 0o037) !== 0).map(({ at, mode }) => `${at}: mode ${mode.toString(8)}`);
      }));
      expect(problems).toEqual([]);
    });

    it('does carry no secret as a literal env value', () => {
      expect(secretLiteralViolations(objs, TEST_PASSWORDS)).toEqual([]);
    });

    it('does put no password in any ConfigMap', () => {
      expect(findAll(objs, 'ConfigMap').length).toBeGreaterThan(0);
      expect(configMapSecretViolations(objs, TEST_PASSWORDS)).toEqual([]);
    });

    it('does validate every object against its Kubernetes schema (kubernetes-models)', () => {
      expect(objs.flatMap(validateObject)).toEqual([]);
    });

    it('does use no field the Kubernetes schema does not define', () => {
      expect(objs.flatMap(unknownFields)).toEqual([]);
    });

    it('does follow the API server rules and resolve every reference (selectors, ports, volumes, accounts)', () => {
      expect(apiRuleViolations(objs)).toEqual([]);
    });

    it('does give every component its own ServiceAccount (the Jobs share one) and no API token', () => {
      const accounts = new Map(findAll(objs, 'ServiceAccount').map((sa) => [sa.metadata.name, sa]));
      const users = new Map<string, string[]>();
      for (const pod of podTemplates(objs)) {
        const name = pod.spec.serviceAccountName ?? 'default';
        expect([pod.name, name === 'default', pod.spec.automountServiceAccountToken]).toEqual([pod.name, false, false]);
        expect([name, accounts.get(name)?.automountServiceAccountToken]).toEqual([name, false]);
        users.set(name, [...(users.get(name) ?? []), `${pod.kind}/${pod.name}`]);
      }
      const shared = [...users].filter(([, pods]) => pods.length > 1 && pods.some((p) => !p.startsWith('Job/')));
      expect(shared).toEqual([]);
    });

    it('does turn off service links in every pod', () => {
      expect(podTemplates(objs).filter((p) => p.spec.enableServiceLinks !== false).map((p) => p.name)).toEqual([]);
    });

    it('does synthesize byte-identical YAML from two fresh Apps', () => {
      const render = (): string => {
        const app = new App();
        configuration.build(app);
        return app.synthYaml();
      };
      const first = render();
      expect(first.length).toBeGreaterThan(1000);
      expect(render()).toBe(first);
    });
  });

  it('does include the test passwords in the Secrets of the MySQL configuration (so the secret checks can fail)', () => {
    const mysql = [...outputs.entries()].find(([name]) => name.includes('MySQL'))?.[1] ?? [];
    const data = findAll(mysql, 'Secret').map((s) => JSON.stringify(s));
    for (const password of TEST_PASSWORDS) {
      expect(data.some((d) => d.includes(password))).toBe(true);
    }
  });
});
