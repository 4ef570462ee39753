// `pulumi up` in this folder: the secured Temporal deployment of the stack's configuration (see config.ts and
// docs/PULUMI.md). The outputs are what a user needs next: the address clients dial and the Secrets of their
// client certificates; `serverVersion` is read back by the next update, which refuses to move more than one minor
// from it (docs/OPERATIONS.md "Upgrades").
import { readStackConfig } from './config';
import { upgradeProgram } from './program';

export = async () => {
  const outputs = await upgradeProgram(readStackConfig(undefined, __dirname));
  return {
    frontendAddress: outputs.frontendAddress,
    namespace: outputs.namespace,
    clientSecretNames: outputs.clientSecretNames,
    webUiService: outputs.webUiService,
    objectCount: outputs.objectCount,
    serverVersion: outputs.serverVersion,
    previousServerVersion: outputs.previousServerVersion,
  };
};
