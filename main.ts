import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { App } from 'cdk8s';
import { stringify } from 'yaml';
import { SecureTemporalChart } from './charts/secure-temporal-chart';

/**
 * The default deployment: namespace `temporal`, every Temporal service, Web UI, admin tools, schema and
 * namespace jobs, the PKI (cert-manager) with mTLS everywhere, the NetworkPolicy boundary, and an
 * evaluation PostgreSQL that authenticates by certificate (no password; see README). Next to the manifests, `network-flows.mmd` is
 * the Mermaid picture of the flows the NetworkPolicies allow (docs/NETWORK.md), and `kustomization.yaml` makes the
 * folder a kustomization (`kustomize build dist/`, Argo CD, Flux: docs/GITOPS.md).
 */
const app = new App();
const chart = new SecureTemporalChart(app, 'temporal');
app.synth();
writeFileSync(join(app.outdir, 'network-flows.mmd'), chart.network.diagram);
writeFileSync(join(app.outdir, 'kustomization.yaml'), stringify({
  apiVersion: 'kustomize.config.k8s.io/v1beta1',
  kind: 'Kustomization',
  resources: app.charts.map((c) => `${c.node.id}.k8s.yaml`),
}));
