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
  };
}
