// `pulumi up` in this folder: the secured Temporal deployment of the stack's configuration (see config.ts and
// docs/PULUMI.md). The outputs are what a user needs next: the address clients dial and the Secrets of their
// client certificates.
import { readStackConfig } from './config';
import { secureTemporalProgram } from './program';

const outputs = secureTemporalProgram(readStackConfig(undefined, __dirname));

export const frontendAddress = outputs.frontendAddress;
export const namespace = outputs.namespace;
export const clientSecretNames = outputs.clientSecretNames;
export const webUiService = outputs.webUiService;
export const objectCount = outputs.objectCount;
