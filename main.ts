import { App } from 'cdk8s';
import { SecureTemporalChart } from './charts/secure-temporal-chart';

/**
 * The default deployment: namespace `temporal`, every Temporal service, Web UI, admin tools, schema and
 * namespace jobs, and an evaluation PostgreSQL whose password comes from Secret
 * `temporal-db-password` (create it first; see README).
 */
const app = new App();
new SecureTemporalChart(app, 'temporal');
app.synth();
