import { App } from 'cdk8s';
import { synthDeployment } from './charts/synth';

/**
 * The default deployment: namespace `temporal`, every Temporal service, Web UI, admin tools, schema and
 * namespace jobs, the PKI (cert-manager) with mTLS everywhere, the NetworkPolicy boundary, and an
 * evaluation PostgreSQL that authenticates by certificate (no password; see README). Next to the manifests, `network-flows.mmd` is
 * the Mermaid picture of the flows the NetworkPolicies allow (docs/NETWORK.md), and `kustomization.yaml` makes the
 * folder a kustomization (`kustomize build dist/`, Argo CD, Flux: docs/GITOPS.md).
 *
 * `npx cdk8s synth` runs this file compiled (build/main.js, see scripts/synth-app.js).
 */
synthDeployment(new App());
