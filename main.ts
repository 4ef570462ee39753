import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { App } from 'cdk8s';
import { SecureTemporalChart } from './charts/secure-temporal-chart';

/**
 * The default deployment: namespace `temporal`, every Temporal service, Web UI, admin tools, schema and
 * namespace jobs, the PKI (cert-manager) with mTLS everywhere, the NetworkPolicy boundary, and an
 * evaluation PostgreSQL that authenticates by certificate (no password; see README). Next to the manifests, `network-flows.mmd` is
 * the Mermaid picture of the flows the NetworkPolicies allow (docs/NETWORK.md).
 */
const app = new App();
const chart = new SecureTemporalChart(app, 'temporal');
app.synth();
writeFileSync(join(app.outdir, 'network-flows.mmd'), chart.network.diagram);
