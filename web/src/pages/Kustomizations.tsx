// pages/Kustomizations.tsx - Flux Kustomizations in the app's namespaces: status with "dependency not
// ready" explained, last applied vs attempted revision, dependsOn, postBuild.substitute; a create form
// (source, path, interval, prune, target namespace, substitute rows, dependsOn).
import { useState } from 'preact/hooks';
import { appPath, post } from '../api';
import { hasErrors, kustomizationErrors, kustomizationRequest, newKustomizationForm, rowId, type KustomizationForm } from '../forms';
import { blockingDependencies, shortRevision } from '../status';
import { announce, listKey, upsert, useList } from '../store';
import type { AppItem, GitRepository, Kustomization } from '../types';
import { Dialog, Empty, ErrorBox, Field, useSubmit } from '../ui';
import { ListBody, PageHead, PermsError, type PageProps } from './common';
import { FluxCard, FluxNotice, creatableNamespaces } from './flux';

function Revisions({ k }: { k: Kustomization }) {
  const applied = k.lastAppliedRevision;
  const attempted = k.lastAttemptedRevision;
  return (
    <>
      <dt>Applied revision</dt>
      <dd>{applied ? <code title={applied}>{shortRevision(applied)}</code> : <span class="muted">nothing applied yet</span>}</dd>
      {attempted && attempted !== applied && (
        <>
          <dt>Attempted revision</dt>
          <dd>
            <code title={attempted}>{shortRevision(attempted)}</code>{' '}
            <span class="warn-text">not applied: the last attempt at this revision failed (see the status above)</span>
          </dd>
        </>
      )}
    </>
  );
}

export function Kustomizations({ app, perms, permsError }: PageProps) {
  const key = listKey(app.name, 'kustomizations');
  const list = useList<Kustomization>(key);
  const sources = useList<GitRepository>(listKey(app.name, 'gitrepositories'));
  const [creating, setCreating] = useState(false);
  const nss = creatableNamespaces(perms, 'kustomizations', app.namespaces);
  const items = [...list.items].sort((a, b) => Number(b.managed) - Number(a.managed) || `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`));
  return (
    <section class="page">
      <PageHead
        title="Kustomizations"
        intro={<>What Flux applies for {app.name}: a path of a GitRepository, kept in sync at every interval.</>}
        actions={
          nss.length > 0 && (
            <button type="button" class="btn primary" onClick={() => setCreating(true)}>
              Create Kustomization
            </button>
          )
        }
      />
      <PermsError error={permsError} />
      <FluxNotice perms={perms} kind="kustomizations" app={app.name} namespaces={app.namespaces} />
      <ListBody
        list={list}
        listKey={key}
        what="Kustomizations"
        empty={
          <Empty title="No Kustomizations yet">
            <p>Create a GitRepository for your app repo first, then a Kustomization with the path of your overlay, e.g. ./k8s/overlays/production.</p>
          </Empty>
        }
      >
        {() => (
          <ul class="cards" aria-label="Kustomizations">
            {items.map((k) => {
              const blocking = blockingDependencies(k, list.items);
              return (
                <FluxCard
                  key={`${k.namespace}/${k.name}`}
                  o={k}
                  kind="kustomizations"
                  app={app.name}
                  perms={perms}
                  extraHealth={
                    k.ready?.reason === 'DependencyNotReady' &&
                    blocking.length > 0 && (
                      <ul class="blocking">
                        {blocking.map((b) => (
                          <li key={b.name}>
                            <code>{b.name}</code>: {b.why}
                          </li>
                        ))}
                      </ul>
                    )
                  }
                >
                  <dt>Source</dt>
                  <dd>
                    {k.sourceRef ? (
                      <>
                        {k.sourceRef.kind || 'GitRepository'} <code>{k.sourceRef.name}</code>
                      </>
                    ) : (
                      '—'
                    )}
                  </dd>
                  <dt>Path</dt>
                  <dd>
                    <code>{k.path || './'}</code>
                  </dd>
                  <dt>Prune</dt>
                  <dd>{k.prune ? 'yes: objects removed from Git are deleted' : 'no'}</dd>
                  {k.targetNamespace && (
                    <>
                      <dt>Target namespace</dt>
                      <dd>{k.targetNamespace}</dd>
                    </>
                  )}
                  <Revisions k={k} />
                  {k.dependsOn.length > 0 && (
                    <>
                      <dt>Depends on</dt>
                      <dd>
                        {k.dependsOn.map((d) => (
                          <code key={d.name} class="chip">
                            {d.name}
                          </code>
                        ))}
                      </dd>
                    </>
                  )}
                  {Object.keys(k.postBuild?.substitute || {}).length > 0 && (
                    <>
                      <dt>Substitute</dt>
                      <dd>
                        <ul class="subst">
                          {Object.entries(k.postBuild.substitute).map(([n, v]) => (
                            <li key={n}>
                              <code>${'{'}
                                {n}
                                {'}'}</code> = <code>{v}</code>
                            </li>
                          ))}
                        </ul>
                      </dd>
                    </>
                  )}
                  {k.suspended && (
                    <>
                      <dt>Suspended</dt>
                      <dd>yes</dd>
                    </>
                  )}
                </FluxCard>
              );
            })}
          </ul>
        )}
      </ListBody>
      {creating && (
        <CreateKustomization app={app} namespaces={nss} existing={list.items} sources={sources.items} onClose={() => setCreating(false)} />
      )}
    </section>
  );
}

function CreateKustomization({
  app,
  namespaces,
  existing,
  sources,
  onClose,
}: {
  app: AppItem;
  namespaces: string[];
  existing: Kustomization[];
  sources: GitRepository[];
  onClose: () => void;
}) {
  const [f, setF] = useState<KustomizationForm>(() => {
    const k = newKustomizationForm(namespaces[0]);
    const first = sources.find((s) => s.namespace === k.namespace);
    return first ? { ...k, source: first.name } : k;
  });
  const [tried, setTried] = useState(false);
  const srcNames = sources.filter((s) => s.namespace === f.namespace).map((s) => s.name);
  const deps = existing.filter((k) => k.namespace === f.namespace && k.name !== f.name);
  const errors = kustomizationErrors(f, { namespaces, sources: srcNames, existing, appNamespaces: app.namespaces });
  const show = (k: string, v: unknown) => (tried || v ? errors[k] : undefined);
  const set = (p: Partial<KustomizationForm>) => setF((x) => ({ ...x, ...p }));
  const setSub = (id: number, p: Partial<{ key: string; value: string }>) =>
    setF((x) => ({ ...x, substitute: x.substitute.map((r) => (r.id === id ? { ...r, ...p } : r)) }));
  const { busy, error, submit } = useSubmit(
    () => post<Kustomization>(appPath(app.name, 'kustomizations'), kustomizationRequest(f)),
    (k) => {
      upsert(listKey(app.name, 'kustomizations'), k);
      announce(`Kustomization ${k.name} created`);
      onClose();
    },
  );
  const input = (k: 'name' | 'path' | 'interval', label: string, hint: string, placeholder?: string) => (
    <Field id={`ks-${k}`} label={label} error={show(k, f[k])} hint={hint}>
      {(a) => (
        <input
          {...a}
          type="text"
          value={f[k]}
          placeholder={placeholder}
          autoComplete="off"
          spellcheck={false}
          onInput={(e) => set({ [k]: (e.target as HTMLInputElement).value })}
        />
      )}
    </Field>
  );
  return (
    <Dialog title="Create Kustomization" onClose={onClose} wide>
      <form
        class="form"
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          setTried(true);
          if (hasErrors(errors)) (e.target as HTMLFormElement).querySelector<HTMLElement>('[aria-invalid="true"]')?.focus();
          else void submit();
        }}
      >
        <div class="grid2">
          <Field id="ks-namespace" label="Namespace" error={errors.namespace}>
            {(a) => (
              <select
                {...a}
                value={f.namespace}
                onChange={(e) => {
                  const ns = (e.target as HTMLSelectElement).value;
                  const first = sources.find((s) => s.namespace === ns);
                  set({ namespace: ns, source: first ? first.name : '', dependsOn: [] });
                }}
              >
                {namespaces.map((ns) => (
                  <option key={ns} value={ns}>
                    {ns}
                  </option>
                ))}
              </select>
            )}
          </Field>
          {input('name', 'Name', "Lowercase letters, digits and '-'.", 'app')}
        </div>
        <Field id="ks-source" label="Source (GitRepository)" error={tried || !srcNames.length ? errors.source : undefined} hint="Sources must be in the same namespace.">
          {(a) => (
            <select {...a} value={f.source} onChange={(e) => set({ source: (e.target as HTMLSelectElement).value })}>
              {!srcNames.length && <option value="">No GitRepository in {f.namespace}</option>}
              {srcNames.map((n) => (
                <option key={n} value={n}>
                  {n}
                </option>
              ))}
            </select>
          )}
        </Field>
        <div class="grid2">
          {input('path', 'Path', 'The folder to apply, relative to the repository root, e.g. ./k8s/overlays/production.')}
          {input('interval', 'Interval', 'How often Flux re-applies it: 1m, 10m…')}
        </div>
        <label class="check">
          <input type="checkbox" checked={f.prune} onChange={(e) => set({ prune: (e.target as HTMLInputElement).checked })} />
          Prune: delete objects that were removed from Git
        </label>
        <Field id="ks-target" label="Target namespace (optional)" error={errors.targetNamespace} hint="Sets the namespace of every object it applies.">
          {(a) => (
            <select {...a} value={f.targetNamespace} onChange={(e) => set({ targetNamespace: (e.target as HTMLSelectElement).value })}>
              <option value="">— as in the manifests —</option>
              {app.namespaces.map((ns) => (
                <option key={ns} value={ns}>
                  {ns}
                </option>
              ))}
            </select>
          )}
        </Field>
        <fieldset class="field kv">
          <legend>Variables (postBuild.substitute)</legend>
          <p class="hint">Flux replaces ${'{'}NAME{'}'} in the manifests with the value.</p>
          {f.substitute.map((r, i) => (
            <div class="kv-row" key={r.id}>
              <div class="kv-key">
                <label for={`sub-key-${r.id}`}>Variable {i + 1}</label>
                <input
                  id={`sub-key-${r.id}`}
                  type="text"
                  value={r.key}
                  autoComplete="off"
                  spellcheck={false}
                  aria-invalid={errors[`sub.${r.id}`] ? true : undefined}
                  aria-describedby={errors[`sub.${r.id}`] ? `sub-key-${r.id}-error` : undefined}
                  onInput={(e) => setSub(r.id, { key: (e.target as HTMLInputElement).value })}
                />
                {errors[`sub.${r.id}`] && (
                  <p class="field-error" id={`sub-key-${r.id}-error`}>
                    {errors[`sub.${r.id}`]}
                  </p>
                )}
              </div>
              <div class="kv-value">
                <label for={`sub-value-${r.id}`}>Value {i + 1}</label>
                <input id={`sub-value-${r.id}`} type="text" value={r.value} autoComplete="off" onInput={(e) => setSub(r.id, { value: (e.target as HTMLInputElement).value })} />
              </div>
              <div class="kv-remove">
                <button
                  type="button"
                  class="btn small ghost"
                  aria-label={`Remove variable ${i + 1}`}
                  onClick={() => setF((x) => ({ ...x, substitute: x.substitute.filter((y) => y.id !== r.id) }))}
                >
                  Remove
                </button>
              </div>
            </div>
          ))}
          <button type="button" class="btn small" onClick={() => setF((x) => ({ ...x, substitute: [...x.substitute, { id: rowId(), key: '', value: '' }] }))}>
            Add variable
          </button>
        </fieldset>
        <fieldset class="field">
          <legend>Depends on (optional)</legend>
          {deps.length === 0 ? (
            <p class="hint">No other Kustomization in {f.namespace} to wait for.</p>
          ) : (
            <div class="checks">
              {deps.map((d) => (
                <label key={d.name} class="check">
                  <input
                    type="checkbox"
                    checked={f.dependsOn.includes(d.name)}
                    onChange={(e) => {
                      const on = (e.target as HTMLInputElement).checked;
                      set({ dependsOn: on ? [...f.dependsOn, d.name] : f.dependsOn.filter((x) => x !== d.name) });
                    }}
                  />
                  {d.name}
                </label>
              ))}
            </div>
          )}
          {errors.dependsOn && <p class="field-error">{errors.dependsOn}</p>}
          <p class="hint">Flux applies this one only once those are Ready (“dependency not ready” until then).</p>
        </fieldset>
        {error && <ErrorBox error={error} what="The Kustomization was not created" />}
        <div class="dialog-actions">
          <button type="button" class="btn" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" class="btn primary" disabled={busy}>
            {busy ? 'Creating…' : 'Create'}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
