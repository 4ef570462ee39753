/** Every whole-output check, by category; an empty list per category means the output passes. */
import { K8sObject } from '../util';
import { apiRuleViolations } from './api-rules';
import {
  configMapSecretViolations, imageViolations, secretLiteralViolations, serviceExposureViolations,
} from './hygiene';
import { podSecurityViolations } from './pod-security';
import { schemaViolations } from './schema';

export interface Violations {
  readonly podSecurity: string[];
  readonly images: string[];
  readonly exposure: string[];
  readonly secretLiterals: string[];
  readonly configMapSecrets: string[];
  readonly schema: string[];
  readonly apiRules: string[];
}

export function allViolations(objs: readonly K8sObject[], knownSecrets: readonly string[] = []): Violations {
  return {
    podSecurity: podSecurityViolations(objs),
    images: imageViolations(objs),
    exposure: serviceExposureViolations(objs),
    secretLiterals: secretLiteralViolations(objs, knownSecrets),
    configMapSecrets: configMapSecretViolations(objs, knownSecrets),
    schema: schemaViolations(objs),
    apiRules: apiRuleViolations(objs),
  };
}

/** The violations object with every category empty. */
export const NO_VIOLATIONS: Violations = {
  podSecurity: [], images: [], exposure: [], secretLiterals: [], configMapSecrets: [], schema: [], apiRules: [],
};
