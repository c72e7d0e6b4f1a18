// pages/flux.tsx - what the Git Repositories and Kustomizations pages share: a card per object with its
// health (Ready and its reason, with the next step), the Managed badge, its conditions, and the actions
// the user's role allows on user-made objects: Reconcile now, Suspend/Resume, Delete.
import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { appPath, del, post } from '../api';
import { fluxHealth } from '../status';
import { announce, remove, upsert } from '../store';
import type { FluxCommon, Permissions, Verbs } from '../types';
import { Badge, Confirm, ErrorBox, Managed, RelTime, capital } from '../ui';

export type FluxKind = 'gitrepositories' | 'kustomizations';
export const KIND_WORD: Record<FluxKind, string> = { gitrepositories: 'GitRepository', kustomizations: 'Kustomization' };

export const verbsIn = (perms: Permissions | undefined, kind: FluxKind, ns: string | null): Verbs | undefined =>
  perms && ns ? perms[kind][ns] : undefined;

// Namespaces where the user may create objects of this kind.
export const creatableNamespaces = (perms: Permissions | undefined, kind: FluxKind, namespaces: string[]) =>
  namespaces.filter((ns) => perms?.[kind][ns]?.create);

export function Conditions({ o }: { o: FluxCommon }) {
  if (!o.conditions?.length) return null;
  return (
    <details class="conditions">
      <summary>Conditions ({o.conditions.length})</summary>
      <ul>
        {o.conditions.map((c) => (
          <li key={c.type}>
            <strong>{c.type}</strong> = {c.status}
            {c.reason && <> · {c.reason}</>}
            {c.lastTransitionTime && (
              <>
                {' '}
                · <RelTime iso={c.lastTransitionTime} />
              </>
            )}
            {c.message && <p class="cond-message">{c.message}</p>}
          </li>
        ))}
      </ul>
    </details>
  );
}

export function FluxCard({
  o,
  kind,
  app,
  perms,
  children,
  extraHealth,
}: {
  o: FluxCommon;
  kind: FluxKind;
  app: string;
  perms: Permissions | undefined;
  children: ComponentChildren;
  extraHealth?: ComponentChildren;
}) {
  const [busy, setBusy] = useState('');
  const [err, setErr] = useState<Error | null>(null);
  const [confirm, setConfirm] = useState(false);
  const [delErr, setDelErr] = useState<Error | null>(null);
  const h = fluxHealth(o);
  const verbs = verbsIn(perms, kind, o.namespace);
  const key = `${app}/${kind}`;
  const base = appPath(app, `${kind}/${encodeURIComponent(o.namespace || '')}/${encodeURIComponent(o.name)}`);
  const act = async (action: 'suspend' | 'resume' | 'reconcile') => {
    setBusy(action);
    setErr(null);
    try {
      const r = await post<FluxCommon>(`${base}/${action}`);
      upsert(key, r);
      announce(
        action === 'reconcile' ? `Reconcile of ${o.name} requested` : `${KIND_WORD[kind]} ${o.name} ${action === 'suspend' ? 'suspended' : 'resumed'}`,
      );
    } catch (e) {
      setErr(e as Error);
    }
    setBusy('');
  };
  const doDelete = async () => {
    setBusy('delete');
    setDelErr(null);
    try {
      await del(base);
      remove(key, o);
      announce(`${KIND_WORD[kind]} ${o.name} deleted`);
      setConfirm(false);
    } catch (e) {
      setDelErr(e as Error);
    }
    setBusy('');
  };
  const pending = o.reconcileRequestedAt && o.reconcileRequestedAt !== o.lastHandledReconcileAt;
  return (
    <li class="card" data-name={o.name} data-namespace={o.namespace || ''}>
      <div class="card-head">
        <h2 class="card-title">
          {o.name} <span class="ns">in {o.namespace}</span>
        </h2>
        {o.managed && <Managed />}
        <Badge health={h} />
        {!o.managed && verbs && (
          <div class="card-actions">
            {verbs.patch && (
              <>
                <button
                  type="button"
                  class="btn small"
                  disabled={!!busy || o.suspended}
                  title={o.suspended ? 'Resume it first: Flux ignores reconcile requests while suspended' : undefined}
                  onClick={() => void act('reconcile')}
                  aria-label={`Reconcile ${o.name} now`}
                >
                  {busy === 'reconcile' ? 'Requesting…' : 'Reconcile now'}
                </button>
                <button
                  type="button"
                  class="btn small"
                  disabled={!!busy}
                  onClick={() => void act(o.suspended ? 'resume' : 'suspend')}
                  aria-label={`${o.suspended ? 'Resume' : 'Suspend'} ${o.name}`}
                >
                  {o.suspended ? 'Resume' : 'Suspend'}
                </button>
              </>
            )}
            {verbs.delete && (
              <button
                type="button"
                class="btn small danger-ghost"
                disabled={!!busy}
                onClick={() => {
                  setDelErr(null);
                  setConfirm(true);
                }}
                aria-label={`Delete ${o.name}`}
              >
                Delete
              </button>
            )}
          </div>
        )}
      </div>
      {o.managed && <p class="muted small">Created by the operator for the platform repo: read-only here.</p>}
      {(h.message || h.next) && h.tone !== 'ok' && (
        <div class={`health-detail tone-${h.tone}`}>
          {h.message && <p class="cond-message">{capital(h.message)}</p>}
          {extraHealth}
          {h.next && <p class="next">{h.next}</p>}
        </div>
      )}
      {h.tone === 'ok' && h.message && <p class="muted small">{h.message}</p>}
      <dl class="props">
        {children}
        <dt>Interval</dt>
        <dd>{o.interval || <span class="muted">default</span>}</dd>
        <dt>Last reconcile</dt>
        <dd>
          {o.ready?.lastTransitionTime ? <RelTime iso={o.ready.lastTransitionTime} prefix="Ready changed " /> : <span class="muted">—</span>}
          {pending && <span class="muted"> · reconcile requested, waiting for Flux</span>}
        </dd>
      </dl>
      <Conditions o={o} />
      {err && <ErrorBox error={err} what="The action failed" />}
      {confirm && (
        <Confirm
          title={`Delete ${KIND_WORD[kind]} ${o.name}?`}
          action="Delete"
          busy={busy === 'delete'}
          error={delErr}
          onConfirm={() => void doDelete()}
          onClose={() => setConfirm(false)}
        >
          <p>
            {kind === 'kustomizations'
              ? o && (o as any).prune
                ? 'Flux stops applying its manifests and, since prune is on, deletes the objects it applied.'
                : 'Flux stops applying its manifests; the objects it applied stay (prune is off).'
              : 'Flux stops fetching this repository; Kustomizations that use it stop updating.'}
          </p>
        </Confirm>
      )}
    </li>
  );
}

export function FluxNotice({ perms, kind, app, namespaces }: { perms: Permissions | undefined; kind: FluxKind; app: string; namespaces: string[] }) {
  if (!perms) return null;
  if (creatableNamespaces(perms, kind, namespaces).length) return null;
  const role = perms.role === 'none' ? 'no role' : `the ${perms.role} role`;
  return (
    <p class="notice">
      <span aria-hidden="true" class="notice-icon">
        i
      </span>
      <span>
        You have {role} in {app}: you can view {KIND_WORD[kind]} objects but not create, change or delete them. That needs the admin
        role.
      </span>
    </p>
  );
}
