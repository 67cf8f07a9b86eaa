import { InputError } from '../errors.js';

// Kubernetes object names (RFC 1123 subdomain) and container names / namespaces (RFC 1123 label).
const SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
// Go durations as kubectl's --timeout takes them: 90s, 5m, 1h30m.
const DURATION = /^(\d+(ms|s|m|h))+$/;

/** A Kubernetes object name (a deployment): lowercase letters, digits, "-" and ".", at most 253. */
export function checkObjectName(flag: string, value: string): string {
  if (value.length > 253 || !SUBDOMAIN.test(value)) {
    throw new InputError(
      'SHALE_BAD_ARGUMENT',
      `${flag} "${value}" is not a Kubernetes name: lowercase letters, digits, "-" and ".", starting and ending with a letter or digit`,
    );
  }
  return value;
}

/** A container name or namespace: lowercase letters, digits and "-", at most 63. */
export function checkLabel(flag: string, value: string): string {
  if (value.length > 63 || !LABEL.test(value)) {
    throw new InputError(
      'SHALE_BAD_ARGUMENT',
      `${flag} "${value}" is not a valid name: at most 63 lowercase letters, digits and "-", starting and ending with a letter or digit`,
    );
  }
  return value;
}

/** A duration for `kubectl rollout status --timeout`. */
export function checkDuration(flag: string, value: string): string {
  if (!DURATION.test(value)) throw new InputError('SHALE_BAD_ARGUMENT', `${flag} "${value}" is not a duration; write it like 90s, 5m or 1h`);
  return value;
}

/**
 * A value passed to a tool as its own argument (an Azure resource group, a kube context): never
 * empty, and never starting with "-", where the tool would read it as a flag.
 */
export function checkPlain(flag: string, value: string): string {
  if (value === '' || value.startsWith('-') || /[\0\n\r]/.test(value)) {
    throw new InputError('SHALE_BAD_ARGUMENT', `${flag} "${value}" is not valid: it must be non-empty, on one line, and not start with "-"`);
  }
  return value;
}
