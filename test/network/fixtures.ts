import { Testing } from 'cdk8s';
import { Secret } from 'cdk8s-plus-27';
import { SecureTemporalChart, SecureTemporalChartProps } from '../../charts/secure-temporal-chart';
import { ClusterModel, clusterFromManifests, IpEndpoint, PodEndpoint } from './evaluator';

/** The rest of the cluster, as the tests assume it: DNS, an ingress controller, Prometheus, clients. */
export const OTHER_NAMESPACES: Record<string, Record<string, string>> = {
  'kube-system': {},
  'ingress-nginx': {},
  'monitoring': {},
  'orders': { team: 'orders' },
  'other': {},
};

export const OTHER_PODS: readonly PodEndpoint[] = [
  { kind: 'pod', id: 'kube-system/kube-dns', namespace: 'kube-system', labels: { 'k8s-app': 'kube-dns' },
    ports: [{ name: 'dns', containerPort: 53, protocol: 'UDP' }, { name: 'dns-tcp', containerPort: 53, protocol: 'TCP' },
      { name: 'metrics', containerPort: 9153, protocol: 'TCP' }] },
  { kind: 'pod', id: 'kube-system/metrics-server', namespace: 'kube-system', labels: { 'k8s-app': 'metrics-server' },
    ports: [{ name: 'https', containerPort: 10250 }] },
  // Listens on the DNS port but is not cluster DNS: DNS egress admits kube-dns pods, not all of kube-system.
  { kind: 'pod', id: 'kube-system/other-resolver', namespace: 'kube-system', labels: { 'k8s-app': 'other-resolver' },
    ports: [{ name: 'dns', containerPort: 53, protocol: 'UDP' }, { name: 'dns-tcp', containerPort: 53, protocol: 'TCP' }] },
  { kind: 'pod', id: 'ingress-nginx/controller', namespace: 'ingress-nginx',
    labels: { 'app.kubernetes.io/name': 'ingress-nginx' }, ports: [{ name: 'http', containerPort: 80 }] },
  { kind: 'pod', id: 'monitoring/prometheus', namespace: 'monitoring', labels: { app: 'prometheus' },
    ports: [{ name: 'web', containerPort: 9090 }] },
  { kind: 'pod', id: 'orders/worker', namespace: 'orders', labels: { app: 'orders-worker' }, ports: [] },
  { kind: 'pod', id: 'other/intruder', namespace: 'other', labels: { app: 'intruder' }, ports: [{ containerPort: 8080 }] },
];

/** Addresses outside the pod network. */
export const OTHER_IPS: readonly IpEndpoint[] = [
  { kind: 'ip', id: 'ip/database', ip: '10.20.0.5', ports: [{ port: 5432, protocol: 'TCP' }] },
  { kind: 'ip', id: 'ip/other-database', ip: '10.20.1.7', ports: [{ port: 5432, protocol: 'TCP' }] },
  { kind: 'ip', id: 'ip/kube-apiserver', ip: '172.20.0.2', ports: [{ port: 6443, protocol: 'TCP' }] },
  { kind: 'ip', id: 'ip/kubernetes-service', ip: '10.96.0.1', ports: [{ port: 443, protocol: 'TCP' }] },
  { kind: 'ip', id: 'ip/internet', ip: '93.184.216.34', ports: [{ port: 443, protocol: 'TCP' }] },
];

/** Synthesizes the chart with `props` to plain manifests. */
export function synthChart(props: SecureTemporalChartProps = {}): { chart: SecureTemporalChart; manifests: unknown[] } {
  const chart = new SecureTemporalChart(Testing.app(), 'temporal', props);
  return { chart, manifests: Testing.synth(chart) };
}

/** Props of a deployment on an external PostgreSQL at 10.20.0.5. */
export function externalDatabaseProps(extra: SecureTemporalChartProps = {}): SecureTemporalChartProps {
  const password = { secret: Secret.fromSecretName(Testing.chart(), 'DbPassword', 'temporal-db'), key: 'password' };
  const store = (database: string) => ({ plugin: 'postgres12_pgx' as const, host: 'db.example.internal', port: 5432,
    database, user: 'temporal', password });
  return { persistence: { default: store('temporal'), visibility: store('temporal_visibility') }, ...extra };
}

/** Pods are named `<namespace>/<app.kubernetes.io/component>` (the Job names carry a content hash). */
export function modelOf(manifests: readonly unknown[]): ClusterModel {
  return clusterFromManifests(manifests, { namespaces: OTHER_NAMESPACES, pods: OTHER_PODS, ips: OTHER_IPS },
    (namespace, name, labels) => `${namespace}/${labels['app.kubernetes.io/component'] ?? name}`);
}
