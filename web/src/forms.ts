// forms.ts - the create/edit forms as plain data: the state a form holds, its errors (recomputed on every
// keystroke) and the request body it sends. The components in pages/ only render these.
import * as v from './validate';
import type { Kustomization, Registration, SecretItem } from './types';

export type Errors = Record<string, string>;
export const hasErrors = (e: Errors) => Object.keys(e).length > 0;

let nextId = 1;
export const rowId = () => nextId++;

// ---- secrets ----
export interface SecretRow {
  id: number;
  key: string;
  value: string;
  existing: boolean; // a key the secret has already (edit): an empty value keeps it
  remove: boolean; // existing key marked for removal
}

export interface SecretForm {
  mode: 'create' | 'edit';
  name: string;
  targets: string[];
  targetName: string; // '' = the secret name
  rows: SecretRow[];
  resourceVersion?: string | null;
}

export function newSecretForm(namespaces: string[]): SecretForm {
  return {
    mode: 'create',
    name: '',
    targets: namespaces.length === 1 ? [...namespaces] : [],
    targetName: '',
    rows: [{ id: rowId(), key: '', value: '', existing: false, remove: false }],
  };
}

// Values are write-only: an edit starts from the key names, never from values.
export function editSecretForm(s: SecretItem): SecretForm {
  return {
    mode: 'edit',
    name: s.name,
    targets: [...s.targetNamespaces],
    targetName: s.targetName === s.name ? '' : s.targetName,
    rows: s.keys.map((key) => ({ id: rowId(), key, value: '', existing: true, remove: false })),
    resourceVersion: s.resourceVersion,
  };
}

export function secretErrors(f: SecretForm, ctx: { existing: string[]; namespaces: string[] }): Errors {
  const e: Errors = {};
  if (f.mode === 'create') {
    const n = v.secretName(f.name, ctx.existing);
    if (n) e.name = n;
  }
  if (f.targets.length === 0) e.targets = 'choose at least one target namespace';
  for (const t of f.targets) if (!ctx.namespaces.includes(t)) e.targets = `'${t}' is no longer a namespace of this app`;
  if (f.targetName) {
    const t = v.dnsLabel(f.targetName, 63, 'the target name');
    if (t) e.targetName = t;
  }
  const live = f.rows.filter((r) => !r.remove);
  for (const r of live) {
    if (r.existing) continue;
    if (!r.key && !r.value && live.length > 1) continue; // an empty extra row is ignored
    const others = live.filter((o) => o !== r).map((o) => o.key);
    const k = v.secretKey(r.key, others);
    if (k) e[`key.${r.id}`] = k;
    if (!r.value) e[`value.${r.id}`] = `enter a value for ${r.key ? `'${r.key}'` : 'this key'}`;
  }
  const kept = f.rows.filter((r) => !r.remove && (r.existing || r.key));
  if (kept.length === 0)
    e.rows = f.mode === 'edit' ? 'a secret keeps at least one key: delete the secret instead' : 'add at least one key and its value';
  return e;
}

export function secretRequest(f: SecretForm): Record<string, unknown> {
  const data: Record<string, string> = {};
  for (const r of f.rows) if (!r.remove && r.key && r.value) data[r.key] = r.value;
  if (f.mode === 'create') {
    const body: Record<string, unknown> = { name: f.name, targetNamespaces: f.targets, data };
    if (f.targetName) body.targetName = f.targetName;
    return body;
  }
  const body: Record<string, unknown> = { targetNamespaces: f.targets, targetName: f.targetName || f.name };
  if (Object.keys(data).length) body.data = data;
  const removeKeys = f.rows.filter((r) => r.remove && r.existing).map((r) => r.key);
  if (removeKeys.length) body.removeKeys = removeKeys;
  if (f.resourceVersion) body.resourceVersion = f.resourceVersion;
  return body;
}

// ---- GitRepository ----
export interface GitRepoForm {
  namespace: string;
  name: string;
  url: string;
  branch: string;
  interval: string;
  secretRef: string;
}

export function newGitRepoForm(namespace: string): GitRepoForm {
  return { namespace, name: '', url: '', branch: 'main', interval: '1m', secretRef: '' };
}

export function gitRepoErrors(f: GitRepoForm, ctx: { namespaces: string[]; existing: { name: string; namespace: string | null }[] }): Errors {
  const e: Errors = {};
  if (!ctx.namespaces.includes(f.namespace)) e.namespace = 'choose a namespace you may create GitRepositories in';
  const n = v.dnsLabel(f.name, 63);
  if (n) e.name = n;
  else if (ctx.existing.some((x) => x.name === f.name && x.namespace === f.namespace))
    e.name = `a GitRepository '${f.name}' exists in ${f.namespace} already`;
  const u = v.gitUrl(f.url);
  if (u) e.url = u;
  const b = v.branch(f.branch);
  if (b) e.branch = b;
  const i = v.interval(f.interval, true);
  if (i) e.interval = i;
  if (f.secretRef) {
    const s = v.dnsLabel(f.secretRef, 253, 'the Secret name');
    if (s) e.secretRef = s;
  } else if (f.url.startsWith('ssh://')) e.secretRef = 'an ssh:// URL needs a Secret with the deploy key (identity, known_hosts)';
  return e;
}

export function gitRepoRequest(f: GitRepoForm): Record<string, unknown> {
  const body: Record<string, unknown> = { namespace: f.namespace, name: f.name, url: f.url, ref: { branch: f.branch }, interval: f.interval };
  if (f.secretRef) body.secretRef = { name: f.secretRef };
  return body;
}

// ---- Kustomization ----
export interface KvRow {
  id: number;
  key: string;
  value: string;
}

export interface KustomizationForm {
  namespace: string;
  name: string;
  source: string;
  path: string;
  interval: string;
  prune: boolean;
  targetNamespace: string;
  substitute: KvRow[];
  dependsOn: string[];
}

export function newKustomizationForm(namespace: string): KustomizationForm {
  return { namespace, name: '', source: '', path: './', interval: '10m', prune: true, targetNamespace: '', substitute: [], dependsOn: [] };
}

export function kustomizationErrors(
  f: KustomizationForm,
  ctx: { namespaces: string[]; sources: string[]; existing: Kustomization[]; appNamespaces: string[] },
): Errors {
  const e: Errors = {};
  if (!ctx.namespaces.includes(f.namespace)) e.namespace = 'choose a namespace you may create Kustomizations in';
  const n = v.dnsLabel(f.name, 63);
  if (n) e.name = n;
  else if (ctx.existing.some((x) => x.name === f.name && x.namespace === f.namespace))
    e.name = `a Kustomization '${f.name}' exists in ${f.namespace} already`;
  if (!f.source) e.source = ctx.sources.length ? 'choose the GitRepository to apply from' : `there is no GitRepository in ${f.namespace}: create one first`;
  else if (!ctx.sources.includes(f.source)) e.source = `no GitRepository '${f.source}' in ${f.namespace}`;
  const p = v.kustomizationPath(f.path);
  if (p) e.path = p;
  const i = v.interval(f.interval, true);
  if (i) e.interval = i;
  if (f.targetNamespace && !ctx.appNamespaces.includes(f.targetNamespace)) e.targetNamespace = 'choose one of the app’s namespaces';
  const keys = f.substitute.map((r) => r.key);
  f.substitute.forEach((r, idx) => {
    if (!r.key && !r.value) return;
    const k = v.substituteKey(r.key, keys.filter((_, j) => j < idx));
    if (k) e[`sub.${r.id}`] = k;
  });
  if (f.dependsOn.includes(f.name) && f.name) e.dependsOn = 'a Kustomization cannot depend on itself';
  return e;
}

export function kustomizationRequest(f: KustomizationForm): Record<string, unknown> {
  const body: Record<string, unknown> = {
    namespace: f.namespace,
    name: f.name,
    sourceRef: { name: f.source },
    path: f.path || './',
    interval: f.interval,
    prune: f.prune,
  };
  if (f.targetNamespace) body.targetNamespace = f.targetNamespace;
  const sub: Record<string, string> = {};
  for (const r of f.substitute) if (r.key) sub[r.key] = r.value;
  if (Object.keys(sub).length) body.postBuild = { substitute: sub };
  if (f.dependsOn.length) body.dependsOn = f.dependsOn.map((name) => ({ name }));
  return body;
}

// ---- App registrations ----
export interface AccessRow {
  id: number;
  group: string;
  role: string;
}

export interface RegistrationForm {
  mode: 'create' | 'edit';
  name: string;
  namespaces: { id: number; name: string }[];
  access: AccessRow[];
  provider: string;
  owner: string;
  repoName: string;
  deletionPolicy: string;
  resourceVersion?: string | null;
}

export function newRegistrationForm(): RegistrationForm {
  return {
    mode: 'create',
    name: '',
    namespaces: [{ id: rowId(), name: '' }],
    access: [{ id: rowId(), group: '', role: 'admin' }],
    provider: '',
    owner: '',
    repoName: '',
    deletionPolicy: 'Retain',
  };
}

export function editRegistrationForm(r: Registration): RegistrationForm {
  return {
    mode: 'edit',
    name: r.name,
    namespaces: r.namespaces.map((name) => ({ id: rowId(), name })),
    access: r.access.map((a) => ({ id: rowId(), group: a.group, role: a.role })),
    provider: r.repository?.provider || '',
    owner: r.repository?.owner || '',
    repoName: r.repository?.name || '',
    deletionPolicy: r.deletionPolicy || 'Retain',
    resourceVersion: r.resourceVersion,
  };
}

export function registrationErrors(f: RegistrationForm, existing: string[]): Errors {
  const e: Errors = {};
  if (f.mode === 'create') {
    const n = v.dnsLabel(f.name, 40, 'the app name');
    if (n) e.name = n;
    else if (existing.includes(f.name)) e.name = `an app '${f.name}' is registered already`;
  }
  const seen: string[] = [];
  for (const ns of f.namespaces) {
    if (!ns.name) continue;
    const m = f.name ? v.appNamespace(f.name, ns.name, seen) : 'enter the app name first';
    if (m) e[`ns.${ns.id}`] = m;
    seen.push(ns.name);
  }
  const groups: string[] = [];
  for (const a of f.access) {
    if (!a.group) continue;
    const g = v.groupName(a.group);
    if (g) e[`group.${a.id}`] = g;
    else if (groups.includes(a.group)) e[`group.${a.id}`] = `the group '${a.group}' is listed twice`;
    groups.push(a.group);
  }
  if (f.mode === 'create' && (f.owner || f.repoName) && !f.provider) e.provider = 'choose the provider of the repository';
  return e;
}

export function registrationRequest(f: RegistrationForm): Record<string, unknown> {
  const body: Record<string, unknown> = {
    namespaces: f.namespaces.map((n) => n.name).filter(Boolean),
    access: f.access.filter((a) => a.group).map((a) => ({ group: a.group, role: a.role })),
  };
  if (f.mode === 'create') {
    body.name = f.name;
    if (f.provider) {
      const repo: Record<string, string> = { provider: f.provider };
      if (f.owner) repo.owner = f.owner;
      if (f.repoName) repo.name = f.repoName;
      body.repository = repo;
    }
    body.deletionPolicy = f.deletionPolicy;
  } else if (f.resourceVersion) body.resourceVersion = f.resourceVersion;
  return body;
}
