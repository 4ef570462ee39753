// A GitOps repository's cdk8s app: the library installed as a package, one folder per environment, each a
// kustomization that Argo CD or Flux syncs (docs/GITOPS.md). `npx cdk8s synth` is not needed: `npm run synth`
// compiles this file and writes dist/staging and dist/production; commit dist/ and let the GitOps tool apply it.
import { App, Duration } from 'cdk8s';
import { Peer, SecureTemporalChartProps, synthDeployment } from 'secure-temporal';

const environments: Record<string, SecureTemporalChartProps> = {
  staging: {
    namespace: 'temporal-staging',
    namespaces: [{ name: 'orders', retention: Duration.days(3) }],
    clientNamespaces: [Peer.namespace('orders-staging')],
    clientIdentities: [{ name: 'orders-worker', namespace: 'orders-staging', temporalNamespaces: ['orders'] }],
    webUi: false,
  },
  production: {
    namespace: 'temporal',
    namespaces: [{ name: 'orders', retention: Duration.days(30) }],
    history: { replicas: 3 },
    matching: { replicas: 2 },
    frontend: { replicas: 2 },
    clientNamespaces: [Peer.namespace('orders')],
    clientIdentities: [{ name: 'orders-worker', namespace: 'orders', temporalNamespaces: ['orders'] }],
  },
};

for (const [environment, props] of Object.entries(environments)) {
  synthDeployment(new App({ outdir: `dist/${environment}` }), props);
}
