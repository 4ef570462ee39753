import * as pulumi from '@pulumi/pulumi';
import { componentArgs, StackConfig } from './config';
import { SecureTemporal } from './secure-temporal';

/** The stack outputs. */
export interface StackOutputs {
  readonly frontendAddress: pulumi.Output<string>;
  readonly namespace: pulumi.Output<string>;
  readonly clientSecretNames: pulumi.Output<string[]>;
  readonly webUiService: pulumi.Output<string | undefined>;
  readonly objectCount: pulumi.Output<number>;
  /** The Temporal server version deployed; the next update checks its own against it (at most one minor away). */
  readonly serverVersion: pulumi.Output<string>;
}

/**
 * The program of the stack: one `SecureTemporal` component from the configuration. `index.ts` runs it for
 * `pulumi up`; the Automation API can run it inline (`LocalWorkspace.createOrSelectStack({ program: () => ... })`).
 */
export function secureTemporalProgram(config: StackConfig, opts?: pulumi.ComponentResourceOptions): StackOutputs {
  const temporal = new SecureTemporal('temporal', componentArgs(config), opts);
  return {
    frontendAddress: temporal.frontendAddress,
    namespace: temporal.namespace,
    clientSecretNames: temporal.clientSecretNames,
    webUiService: temporal.webUiService,
    objectCount: temporal.objectCount,
    serverVersion: temporal.serverVersion,
  };
}

/** The name of the stack being updated, as a StackReference names it. */
export function selfStackName(): string {
  return `${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}`;
}

/**
 * The `serverVersion` output of this stack's last update, or undefined before the first (or from an update that
 * predates the output). Read through a StackReference to the stack itself.
 */
export async function previousServerVersion(reference: pulumi.StackReference =
new pulumi.StackReference('previous-outputs', { name: selfStackName() })): Promise<string | undefined> {
  const details = await reference.getOutputDetails('serverVersion');
  return typeof details.value === 'string' ? details.value : undefined;
}

/** The outputs of `upgradeProgram`: the stack's, and the version the update started from. */
export interface UpgradeOutputs extends StackOutputs {
  /** The `serverVersion` of the update before this one (undefined on the first). */
  readonly previousServerVersion: pulumi.Output<string | undefined>;
}

/**
 * What `pulumi up` in stacks/ runs: the program of `config`, told the running version by the stack's own last output
 * (so an update more than one minor from it is refused before any resource changes).
 */
export async function upgradeProgram(config: StackConfig, opts?: pulumi.ComponentResourceOptions,
  previous: () => Promise<string | undefined> = () => previousServerVersion()): Promise<UpgradeOutputs> {
  const last = await previous();
  return { ...secureTemporalProgram(withRunningVersion(config, last), opts), previousServerVersion: pulumi.output(last) };
}

/**
 * The configuration with the running version filled in from the last update's output, unless the values say it
 * (`runningServerVersion` in the values wins: e.g. a cluster first deployed by another tool).
 */
export function withRunningVersion(config: StackConfig, previous: string | undefined): StackConfig {
  if (previous === undefined || config.values.runningServerVersion !== undefined) {
    return config;
  }
  return { ...config, values: { ...config.values, runningServerVersion: previous } };
}
