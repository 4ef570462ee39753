// Shared basics: errors, rollback, names, installation, labels, durations, pod security, images, peers, the component seam.
export * from './component';
export * from './content-name';
export * from './dns';
export * from './duration';
export * from './errors';
export * from './images';
export * from './installation';
export * from './labels';
export * from './names';
export * from './peers';
export * from './pod-security';
export * from './rollback';
export * from './unique';
