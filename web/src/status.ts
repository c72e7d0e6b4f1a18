// status.ts - what a status means to the person reading it: one word, a tone (for the colour and the
// icon), the condition's own message, and the next step. Flux objects follow Flux's conditions (Ready,
// Reconciling, Stalled; reasons such as DependencyNotReady); secrets follow the operator's annotations
// as the API reports them (Pending -> Committed -> Applied, Error, Deleting).
import type { Condition, FluxCommon, Kustomization, Ready, Registration, SecretItem } from './types';

export type Tone = 'ok' | 'warn' | 'bad' | 'busy' | 'idle';

export interface Health {
  label: string;
  tone: Tone;
  message: string | null; // the condition's message as the controller wrote it
  next: string | null; // what to do about it
}

const cond = (cs: Condition[] | undefined, type: string) => (cs || []).find((c) => c.type === type);

// Next steps for the Flux reasons people meet most (the guide's troubleshooting and Flux's docs).
const FLUX_NEXT: Record<string, string> = {
  GitOperationFailed:
    'Flux cannot fetch the repository: check the URL and branch, and that the secretRef Secret holds a deploy key the repository accepts.',
  AuthenticationFailed: 'The repository refused the credentials: check the deploy key in the secretRef Secret.',
  ArtifactFailed: 'The source has no artifact yet: check the GitRepository it points to.',
  BuildFailed:
    'kustomize build failed: check that the path exists in the repository and that `kustomize build` works there, then push a fix.',
  ReconciliationFailed:
    'Applying the manifests failed: read the message, fix the manifests in your app repo and push; then Reconcile now.',
  HealthCheckFailed: 'The applied workloads did not become healthy in time: check their pods and events.',
  PruneFailed: 'Flux could not delete objects removed from Git: check the message for the object and your role.',
  ArtifactNotFound: 'The source has no artifact yet: check the GitRepository it points to and wait for it to be Ready.',
  SourceNotFound: 'The sourceRef names no GitRepository in this namespace: create it or fix the sourceRef.',
  AccessDenied:
    'Flux refused a reference across namespaces or to a remote base (the platform locks tenants in): keep the source in the same namespace.',
};

// kustomize-controller reports a spec.path missing from the source's revision as ArtifactFailed too, with
// this message: the fix is in the Kustomization or the repository, not the source.
const PATH_NOT_FOUND = /^kustomization path not found/i;
const PATH_NEXT =
  'The path does not exist in the source’s current revision: fix spec.path (relative to the repository root, e.g. ./deploy) or push that folder to the repository.';

export function fluxHealth(o: FluxCommon): Health {
  const ready: Ready = o.ready || { status: 'Unknown', reason: null, message: null };
  if (o.suspended)
    return {
      label: 'Suspended',
      tone: 'idle',
      message: ready.message,
      next: 'Flux does not reconcile it while suspended: Resume to pick up changes again.',
    };
  if (!o.conditions || o.conditions.length === 0)
    return {
      label: 'Not reconciled yet',
      tone: 'busy',
      message: null,
      next: 'Flux has not reported on it yet. If this lasts more than a few minutes, ask a platform admin whether Flux runs in the cluster.',
    };
  if (ready.reason === 'DependencyNotReady')
    return {
      label: 'Waiting for dependency',
      tone: 'warn',
      message: ready.message,
      next: dependencyNext(o as Kustomization),
    };
  if (ready.status === 'True') return { label: 'Ready', tone: 'ok', message: ready.message, next: null };
  const reconciling = cond(o.conditions, 'Reconciling');
  const stalled = cond(o.conditions, 'Stalled');
  if (ready.status === 'Unknown' || (reconciling && reconciling.status === 'True' && ready.status !== 'False'))
    return { label: 'Reconciling', tone: 'busy', message: ready.message || reconciling?.message || null, next: null };
  const reason = ready.reason || stalled?.reason || '';
  return {
    label: stalled && stalled.status === 'True' ? 'Stalled' : 'Failed',
    tone: 'bad',
    message: ready.message,
    next:
      (PATH_NOT_FOUND.test(ready.message || '') ? PATH_NEXT : null) ||
      FLUX_NEXT[reason] ||
      'Read the message above; fix the cause (often in your app repo), then use Reconcile now instead of waiting for the interval.',
  };
}

// The guide: "Your Flux Kustomization may depend on another resource. Check spec.dependsOn and ensure the
// dependency is healthy."
export function dependencyNext(k: Kustomization): string {
  const names = (k.dependsOn || []).map((d) => d.name);
  const which = names.length ? names.join(', ') : 'the Kustomizations listed in spec.dependsOn';
  return `This Kustomization waits until ${which} ${names.length > 1 ? 'are' : 'is'} Ready (spec.dependsOn). Check ${names.length > 1 ? 'their' : 'its'} status in this list and fix ${names.length > 1 ? 'those' : 'that'} first; this one is applied by itself once the dependency is healthy.`;
}

// Which of a Kustomization's dependencies hold it back: those not found or not Ready.
export function blockingDependencies(k: Kustomization, all: Kustomization[]): { name: string; why: string }[] {
  const out: { name: string; why: string }[] = [];
  for (const d of k.dependsOn || []) {
    const ns = d.namespace || k.namespace;
    const dep = all.find((x) => x.name === d.name && x.namespace === ns);
    if (!dep) out.push({ name: d.name, why: `no Kustomization '${d.name}' in ${ns}` });
    else if (dep.suspended) out.push({ name: d.name, why: 'suspended' });
    else if (!dep.ready || dep.ready.status !== 'True') out.push({ name: d.name, why: fluxHealth(dep).label.toLowerCase() });
  }
  return out;
}

export function registrationHealth(r: Registration): Health {
  const ready = r.ready || { status: 'Unknown', reason: null, message: null };
  if (ready.status === 'True') return { label: 'Ready', tone: 'ok', message: ready.message, next: null };
  if (!r.conditions || r.conditions.length === 0)
    return {
      label: 'Not reconciled yet',
      tone: 'busy',
      message: null,
      next: 'The operator has not reported on this registration yet; if this lasts, check that the operator is running.',
    };
  const failed = r.conditions.filter((c) => c.type !== 'Ready' && c.status === 'False');
  const first = failed[0];
  if (ready.status === 'Unknown')
    return { label: 'Progressing', tone: 'busy', message: ready.message, next: null };
  return {
    label: 'Not ready',
    tone: 'bad',
    message: first ? `${first.type}: ${first.message || first.reason}` : ready.message,
    next: 'Check the failing condition below; the operator retries by itself. Operator logs have the details.',
  };
}

// A secret's journey, in order; Error and Deleting stand beside it.
export const SECRET_STEPS = ['Pending', 'Committed', 'Applied'] as const;

export function secretStepIndex(status: string): number {
  return (SECRET_STEPS as readonly string[]).indexOf(status);
}

export function secretHealth(s: SecretItem, app: string): Health {
  switch (s.status) {
    case 'Applied':
      return { label: 'Applied', tone: 'ok', message: null, next: null };
    case 'Committed':
      return {
        label: 'Committed',
        tone: 'busy',
        message: s.lastError,
        next: 'Encrypted and committed to the platform repo; Flux applies it to the target namespaces at its next sync.',
      };
    case 'Deleting':
      return {
        label: 'Deleting',
        tone: 'busy',
        message: null,
        next: 'The operator removes the encrypted file from Git, then Flux deletes the Secret in the target namespaces.',
      };
    case 'Error':
      return {
        label: 'Error',
        tone: 'bad',
        message: s.lastError,
        next: `The operator could not commit it and retries by itself. Check that the app registration ${app} is Ready (the operator needs access to the platform repo) and that ${app}-platform exists; if it stays, a platform admin can read the operator logs.`,
      };
    default:
      return {
        label: 'Pending',
        tone: 'busy',
        message: null,
        next: `Waiting for the operator to encrypt and commit it. If it stays Pending, check that the app registration ${app} is Ready.`,
      };
  }
}

// "main@sha1:0123456789ab..." -> "main@0123456"; other forms shortened the same way.
export function shortRevision(rev: string | null | undefined): string {
  if (!rev) return '';
  const m = /^(.*?)@?(?:sha1|sha256):([0-9a-f]+)$/.exec(rev);
  if (m) return `${m[1] ? `${m[1]}@` : ''}${m[2].slice(0, 7)}`;
  return rev.length > 24 ? `${rev.slice(0, 24)}…` : rev;
}

export function shortCommit(c: string | null | undefined): string {
  return c ? c.slice(0, 7) : '';
}

// The ref of a GitRepository in words: "branch main", "tag v1.2.0".
export function refText(ref: Record<string, string> | null | undefined): string {
  if (!ref) return 'default branch';
  for (const k of ['commit', 'name', 'semver', 'tag', 'branch']) if (ref[k]) return `${k} ${ref[k]}`;
  return 'default branch';
}
