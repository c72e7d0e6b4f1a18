// validate.ts - the checks the forms run as you type. Each returns null when the value is fine, else a
// sentence saying what is wrong and what would be right. They mirror the server's and Kubernetes' own
// rules (the server checks again: these only spare a round trip).

export function dnsLabel(s: string, max = 63, what = 'a name'): string | null {
  if (!s) return `${what} is required`;
  if (s.length > max) return `${what} may have at most ${max} characters (this one has ${s.length})`;
  if (/[A-Z]/.test(s)) return `${what} must be lowercase`;
  if (!/^[a-z0-9-]+$/.test(s)) return `${what} may hold only lowercase letters, digits and '-'`;
  if (s.startsWith('-') || s.endsWith('-')) return `${what} must start and end with a letter or digit`;
  return null;
}

export function secretName(name: string, existing: string[] = []): string | null {
  const e = dnsLabel(name, 63, 'the secret name');
  if (e) return e;
  if (existing.includes(name)) return `a secret named '${name}' exists already: edit it instead`;
  return null;
}

// Kubernetes' rule for Secret data keys (IsConfigMapKey).
export function secretKey(key: string, others: string[] = []): string | null {
  if (!key) return 'the key name is required';
  if (key.length > 253) return 'a key name may have at most 253 characters';
  if (key === '.' || key === '..') return `'${key}' is not allowed as a key name`;
  if (!/^[-._a-zA-Z0-9]+$/.test(key))
    return `key names may hold only letters, digits, '-', '_' and '.'; '${key}' does not`;
  if (others.includes(key)) return `the key '${key}' appears twice`;
  return null;
}

// A namespace to add to app: '<app>-<something>', a DNS label, not the platform namespace, not present.
export function appNamespace(app: string, name: string, existing: string[] = []): string | null {
  const prefix = `${app}-`;
  if (!name) return `the namespace is required (it must start with '${prefix}')`;
  if (!name.startsWith(prefix) || name.length === prefix.length)
    return `the namespace must start with '${prefix}' followed by a name, e.g. '${prefix}qa'`;
  const e = dnsLabel(name, 63, 'the namespace');
  if (e) return e;
  if (name === `${app}-platform`) return `'${name}' is the platform namespace, which the operator manages`;
  if (existing.includes(name)) return `'${name}' is already a namespace of ${app}`;
  return null;
}

// Flux durations as the server accepts them: 1m, 30s, 1h30m, 500ms.
export function interval(s: string, required = false): string | null {
  if (!s) return required ? 'the interval is required, e.g. 1m' : null;
  if (s.length > 32 || !/^(\d+(ms|h|m|s))+$/.test(s)) return `'${s}' is not a duration like 30s, 1m or 1h30m`;
  return null;
}

// A Git URL Flux can clone: ssh:// or https:// (scp-like 'git@host:path' is not accepted by Flux).
export function gitUrl(s: string): string | null {
  if (!s) return 'the repository URL is required';
  const scp = /^([\w.-]+)@([\w.-]+):(.+)$/.exec(s);
  if (scp) return `Flux needs a URL, not scp syntax: use ssh://${scp[1]}@${scp[2]}/${scp[3].replace(/^\//, '')}`;
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    return `'${s}' is not a URL: use ssh://git@host/org/repo.git or https://host/org/repo.git`;
  }
  if (!['ssh:', 'https:', 'http:'].includes(u.protocol))
    return `Flux clones over ssh:// or https://, not ${u.protocol.replace(':', '')}`;
  if (!u.hostname) return 'the URL names no host';
  return null;
}

export function branch(s: string): string | null {
  if (!s) return 'the branch is required (e.g. main)';
  if (/[\s~^:?*[\\]/.test(s) || s.includes('..') || s.startsWith('/') || s.endsWith('/') || s.endsWith('.lock'))
    return `'${s}' is not a valid Git branch name`;
  return null;
}

// The path of a Kustomization in its source: relative, inside the repository.
export function kustomizationPath(s: string): string | null {
  if (!s) return null; // the repository root
  if (s.startsWith('/')) return "the path is relative to the repository root: start it with './'";
  if (s.split('/').includes('..')) return "the path must stay inside the repository (no '..')";
  if (/\s/.test(s)) return 'the path may not hold spaces';
  return null;
}

// postBuild.substitute variable names (Flux: ^[_[:alpha:]][_[:alpha:][:digit:]]*$).
export function substituteKey(key: string, others: string[] = []): string | null {
  if (!key) return 'the variable name is required';
  if (!/^[_a-zA-Z][_a-zA-Z0-9]*$/.test(key))
    return `variable names hold letters, digits and '_' and do not start with a digit; '${key}' does not`;
  if (others.includes(key)) return `the variable '${key}' appears twice`;
  return null;
}

// SSO group names as the registration CRD accepts them.
export function groupName(g: string): string | null {
  if (!g) return 'the group is required';
  if (g.length > 128) return 'a group name may have at most 128 characters';
  if (!/^[A-Za-z0-9]([A-Za-z0-9._@ -]*[A-Za-z0-9_])?$/.test(g))
    return `'${g}' is not a group name (letters, digits, '.', '_', '@', '-', spaces inside)`;
  return null;
}
