// The public API of the construct library (the package entry point adds the charts). Everything exported here
// is supported; modules not exported here are internals and may change without notice.

// Shared basics, and the building blocks of a component of your own.
export { ValidationError, type ValidationCode } from './core/errors';
export { Installation, type InstallationProps, type InstallationScopedProps } from './core/installation';
export {
  type Admission, type Call, type ComponentDescription, type ComponentGroup, Components, type Endpoint,
  endpointAddress, type FlowCategory, type HealthCheck, type HealthEndpoints, healthProbe, type IComponent, type IdentityRef,
  type MetricsEndpoint, metricsAdmissions, type NamedPort, type OutsidePeers, type OutsideRole, type ProbeTiming, type Protocol,
  scrapeAnnotations,
} from './core/component';
export { type ServiceDns, serviceDnsNames, serviceDnsOf, serviceFqdn } from './core/dns';
export { DEFAULT_IMAGES, IMAGE_USERS, TEMPORAL_VERSION } from './core/images';
export { componentLabels, selectorLabels } from './core/labels';
export { DEFAULT_CLUSTER_DOMAIN } from './core/names';
export { type CidrPeer, type DnsPeerProps, type ExternalPeer, type NamespacePeer, Peer } from './core/peers';
export {
  type ComputeResources, disruptionBudget, restrictedContainerSecurityContext, restrictedPodBasics, spreadConstraints, TMP_MOUNT,
  TMP_VOLUME, toResourceRequirements,
} from './core/pod-security';
export { rollback } from './core/rollback';
export { type PlannedObject, requireUnusedNames } from './core/unique';

// TLS: the PKI, identities, and the checks and wiring helpers of an mTLS connection.
export {
  clientTlsFiles, type ClientTlsFiles, clientTlsWiring, temporalCliTlsEnv, type TlsPodWiring, webUiTlsEnv,
} from './tls/consumers';
export { type ExpirationChecksProps, type GlobalTlsConfig } from './tls/global-tls';
export { ISSUED_BY_LABEL, type Issuance, TlsIdentity } from './tls/identity';
export { type DeclaredIssuer, type IssuerReference, issuerProblems } from './tls/issuer-check';
export { TLS_FILES, type TlsMount, TRUST_DIR } from './tls/layout';
export {
  type CertificateIssuance, type ClientIdentityProps, type ServerCertificateProps, TemporalPki,
  type TemporalPkiProps,
} from './tls/pki';
export {
  type CertificateRole, type KeyAlgorithm, type KeyRotationPolicy, type Lifetime, type PrivateKeyProps, type ResolvedPrivateKey,
  usagesFor,
} from './tls/settings';
export { type ExternalCaProps, type ExternalPkiProps, type TrustSource } from './tls/sources';
export { type CaName, type CertificateSpecification, specificationProblems } from './tls/specification';
export { CA_PURPOSES, type CaPurpose, clientConnection, type FrontendAccess, frontendClientCas } from './tls/trust';

export { type ServiceAccountRef, WorkloadIssuancePolicy, type WorkloadIssuancePolicyProps } from './tls/issuance-policy';
export { SigningKey } from './tls/signing-key';

// Authorization: the policy model (pure, shared with the proxy program), the API table, and the proxy construct.
export { API_METHODS, type ApiAccess, type ApiMethod, apiByName, type ApiScope, WORKER_APIS } from './authorizer/api';
export {
  type AuthorizerPolicy, authorize, type CertificateIdentity, type CertificateMatch, type Decision, type Grants, grantsOf,
  type Identity, type JwtIdentity, type JwtMatch, permissionsFor, type PolicyRule, type Role, ROLES, SYSTEM_NAMESPACE,
  validatePolicy,
} from './authorizer/policy';
export {
  AuthorizerProxy, type AuthorizerProxyOptions, type AuthorizerProxyProps, JWKS_REFRESH_SECONDS, KEY_PUBLISH_DELAY_SECONDS,
  type OidcProps, type ProxyUpstream,
} from './authorizer/proxy';
export { PROXY_ENV, PROXY_PORTS } from './authorizer/proxy-env';

// Temporal: the cluster, its parts, and the pure functions behind its config.
export { TemporalAdminTools, type TemporalAdminToolsProps } from './temporal/admin-tools';
export { type ClientTls, type ClusterTls, type ConfigVariant } from './temporal/cluster-tls';
export { SERVER_RPCS } from './temporal/call-graph';
export {
  DEFAULT_SERVER_RESOURCES, type PersistenceProps, type ServerServiceProps, TemporalCluster,
  type TemporalClusterProps,
} from './temporal/cluster';
export {
  DEFAULT_DYNAMIC_CONFIG, type DynamicConfig, type DynamicConfigValue, mergeDynamicConfig, renderDynamicConfig,
} from './temporal/dynamic-config';
export {
  EVALUATION_ONLY_ANNOTATION, EvaluationPostgres, type EvaluationPostgresProps,
} from './temporal/evaluation-postgres';
export { NamespaceRegistration, namespaceScript, type TemporalNamespaceProps } from './temporal/namespace-job';
export {
  type DatabaseTlsProps, type SecretKeyReference, SQL_PLUGINS, type SqlPlugin, type SqlStoreProps,
} from './temporal/persistence';
export {
  assertNoPortClash, METRICS_PORT, SERVICE_PORTS, type ServicePorts, TEMPORAL_SERVICES, type TemporalService,
} from './temporal/ports';
export { SchemaJob, schemaSteps, sqlToolEnv } from './temporal/schema-job';
export { type AuthorizationConfig, buildServerConfig, renderServerConfig, type ServerConfig } from './temporal/server-config';
export { TemporalServerService } from './temporal/server-service';
export {
  checkUpgrade, imageTagVersion, parseServerVersion, type ResolvedServerVersion, resolveServerVersion, type SchemaVersions,
  SERVER_RELEASES, type ServerRelease, type ServerVersion, type ServerVersionProps,
} from './temporal/versions';
export { TemporalWebUi, type TemporalWebUiProps, type WebUiIngressProps } from './temporal/web-ui';

// Network: the boundary and its table.
export {
  type ExternalDatabaseProps, NetworkBoundary, type NetworkBoundaryOptions, type NetworkBoundaryProps,
} from './network/boundary';
export { flowDiagram, flowsDocument } from './network/diagram';
export { type Component, type Flow, type FlowEndpoint, type FlowPort, type PeerGroup } from './network/flows';
export { networkPolicies, type PolicyDocument } from './network/policies';
export { type ExtraFlow, type ExtraFlowPort } from './network/table';

// Monitoring: PodMonitors and the PrometheusRule of the deployment's alerts (chart prop `monitors`).
export {
  type AlertGroup, alertGroups, type AlertOptions, type AlertRule, type AlertThresholds, DEFAULT_ALERT_THRESHOLDS,
} from './monitoring/alerts';
export { type MonitorsProps, TemporalMonitors, type TemporalMonitorsProps, validateMonitorsProps } from './monitoring/monitors';
