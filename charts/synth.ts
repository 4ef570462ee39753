import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { App } from 'cdk8s';
import { stringify } from 'yaml';
import { SecureTemporalChart, SecureTemporalChartProps } from './secure-temporal-chart';

/** The chart id: the manifests are `<outdir>/temporal.k8s.yaml`. */
export const DEPLOYMENT_CHART_ID = 'temporal';

/**
 * Synthesizes one deployment into `app.outdir`: `temporal.k8s.yaml`, `network-flows.mmd` (the Mermaid picture of
 * the flows the NetworkPolicies allow, docs/NETWORK.md) and `kustomization.yaml`, which makes the folder a
 * kustomization (`kustomize build`, Argo CD, Flux: docs/GITOPS.md). A bad prop throws while the chart is built,
 * before anything is written. `npx cdk8s synth` (main.ts) and `secure-temporal synth` both write through here.
 */
export function synthDeployment(app: App, props: SecureTemporalChartProps = {}): SecureTemporalChart {
  const chart = new SecureTemporalChart(app, DEPLOYMENT_CHART_ID, props);
  app.synth();
  writeFileSync(join(app.outdir, 'network-flows.mmd'), chart.network.diagram);
  writeFileSync(join(app.outdir, 'kustomization.yaml'), stringify({
    apiVersion: 'kustomize.config.k8s.io/v1beta1',
    kind: 'Kustomization',
    resources: app.charts.map((c) => `${c.node.id}.k8s.yaml`),
  }));
  return chart;
}
