// The Pulumi side of the package, `secure-temporal/pulumi`: the SecureTemporal component, its deployment plan, the
// @pulumi/tls minting of the PKI, and the stack program and configuration of stacks/ (docs/PULUMI.md). Needs
// @pulumi/pulumi, @pulumi/kubernetes and @pulumi/tls next to it.
export * from './secure-temporal';
export * from './pulumi-tls';
export * from './config';
export * from './program';
