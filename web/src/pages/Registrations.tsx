// pages/Registrations.tsx - App Registrations, for platform admins: each app with a health dot from Ready
// and every condition's reason and message; create (name, namespaces, access rows, repository, deletion
// policy) and edit (namespaces and access).
import { useState } from 'preact/hooks';
import { post, put } from '../api';
import {
  editRegistrationForm,
  hasErrors,
  newRegistrationForm,
  registrationErrors,
  registrationRequest,
  rowId,
  type RegistrationForm,
} from '../forms';
import { registrationHealth } from '../status';
import { announce, loadApps, upsert, useList } from '../store';
import type { Registration } from '../types';
import { Badge, Dialog, Dot, Empty, ErrorBox, Field, RelTime, useSubmit } from '../ui';
import { ListBody, PageHead } from './common';

export function Registrations() {
  const list = useList<Registration>('registrations');
  const [form, setForm] = useState<RegistrationForm | null>(null);
  const items = [...list.items].sort((a, b) => a.name.localeCompare(b.name));
  return (
    <section class="page">
      <PageHead
        title="App Registrations"
        intro="Every app on the platform. The operator turns each registration into namespaces, an age key, a platform repo, Flux objects and RBAC for the listed groups."
        actions={
          <button type="button" class="btn primary" onClick={() => setForm(newRegistrationForm())}>
            Register app
          </button>
        }
      />
      <ListBody
        list={list}
        listKey="registrations"
        what="app registrations"
        empty={
          <Empty title="No apps registered yet">
            <p>Register the first one: its name, its namespaces and the SSO groups that may use it.</p>
          </Empty>
        }
      >
        {() => (
          <ul class="cards" aria-label="App registrations">
            {items.map((r) => {
              const h = registrationHealth(r);
              return (
                <li class="card" key={r.name} data-name={r.name}>
                  <div class="card-head">
                    <Dot tone={h.tone} label={`${r.name}: ${h.label}`} />
                    <h2 class="card-title">
                      <a href={`/apps/${encodeURIComponent(r.name)}/secrets`}>{r.name}</a>
                    </h2>
                    <Badge health={h} />
                    <div class="card-actions">
                      <button type="button" class="btn small" onClick={() => setForm(editRegistrationForm(r))} aria-label={`Edit registration ${r.name}`}>
                        Edit
                      </button>
                    </div>
                  </div>
                  {h.tone !== 'ok' && (h.message || h.next) && (
                    <div class={`health-detail tone-${h.tone}`}>
                      {h.message && <p class="cond-message">{h.message}</p>}
                      {h.next && <p class="next">{h.next}</p>}
                    </div>
                  )}
                  <dl class="props">
                    <dt>Namespaces</dt>
                    <dd>
                      {r.status.platformNamespace && <code class="chip">{r.status.platformNamespace}</code>}
                      {r.namespaces.map((n) => (
                        <code class="chip" key={n}>
                          {n}
                        </code>
                      ))}
                    </dd>
                    <dt>Access</dt>
                    <dd>
                      {r.access.length ? (
                        <ul class="access">
                          {r.access.map((a) => (
                            <li key={a.group}>
                              <code>{a.group}</code> <span class="badge role">{a.role}</span>
                            </li>
                          ))}
                        </ul>
                      ) : (
                        <span class="muted">nobody</span>
                      )}
                    </dd>
                    <dt>Repository</dt>
                    <dd>{r.status.repositoryURL ? <code class="wrap">{r.status.repositoryURL}</code> : <span class="muted">not created yet</span>}</dd>
                    <dt>Deletion policy</dt>
                    <dd>{r.deletionPolicy}</dd>
                    <dt>Registered</dt>
                    <dd>
                      <RelTime iso={r.createdAt} />
                    </dd>
                  </dl>
                  {r.conditions.length > 0 && (
                    <details class="conditions">
                      <summary>Conditions ({r.conditions.length})</summary>
                      <ul>
                        {r.conditions.map((c) => (
                          <li key={c.type}>
                            <Dot
                              tone={c.status === 'True' ? 'ok' : c.status === 'False' ? 'bad' : 'busy'}
                              label={`${c.type} ${c.status}`}
                            />{' '}
                            <strong>{c.type}</strong> · {c.reason}
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
                  )}
                </li>
              );
            })}
          </ul>
        )}
      </ListBody>
      {form && <RegistrationDialog initial={form} existing={list.items.map((r) => r.name)} onClose={() => setForm(null)} />}
    </section>
  );
}

function RegistrationDialog({ initial, existing, onClose }: { initial: RegistrationForm; existing: string[]; onClose: () => void }) {
  const [f, setF] = useState(initial);
  const [tried, setTried] = useState(false);
  const errors = registrationErrors(f, existing);
  const edit = f.mode === 'edit';
  const set = (p: Partial<RegistrationForm>) => setF((x) => ({ ...x, ...p }));
  const { busy, error, submit } = useSubmit(
    () =>
      edit
        ? put<Registration>(`/api/v1/registrations/${encodeURIComponent(f.name)}`, registrationRequest(f))
        : post<Registration>('/api/v1/registrations', registrationRequest(f)),
    (r) => {
      upsert('registrations', r);
      announce(`App ${r.name} ${edit ? 'updated' : 'registered'}`);
      void loadApps();
      onClose();
    },
  );
  return (
    <Dialog title={edit ? `Edit app ${f.name}` : 'Register app'} onClose={onClose} wide>
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
        {!edit && (
          <Field id="reg-name" label="App name" error={tried || f.name ? errors.name : undefined} hint="A DNS label of at most 40 characters; namespaces are '<app>-<env>'.">
            {(a) => <input {...a} type="text" value={f.name} autoComplete="off" spellcheck={false} onInput={(e) => set({ name: (e.target as HTMLInputElement).value })} />}
          </Field>
        )}
        <fieldset class="field">
          <legend>Namespaces</legend>
          {f.namespaces.map((n, i) => (
            <div class="row-inline" key={n.id}>
              <Field id={`reg-ns-${n.id}`} label={`Namespace ${i + 1}`} error={errors[`ns.${n.id}`]}>
                {(a) => (
                  <input
                    {...a}
                    type="text"
                    value={n.name}
                    placeholder={f.name ? `${f.name}-dev` : undefined}
                    autoComplete="off"
                    spellcheck={false}
                    onInput={(e) => set({ namespaces: f.namespaces.map((x) => (x.id === n.id ? { ...x, name: (e.target as HTMLInputElement).value } : x)) })}
                  />
                )}
              </Field>
              <button type="button" class="btn small ghost" aria-label={`Remove namespace ${i + 1}`} onClick={() => set({ namespaces: f.namespaces.filter((x) => x.id !== n.id) })}>
                Remove
              </button>
            </div>
          ))}
          <button type="button" class="btn small" onClick={() => set({ namespaces: [...f.namespaces, { id: rowId(), name: f.name ? `${f.name}-` : '' }] })}>
            Add namespace
          </button>
        </fieldset>
        <fieldset class="field">
          <legend>Access</legend>
          <p class="hint">SSO groups and the role each gets in the app’s namespaces.</p>
          {f.access.map((a, i) => (
            <div class="row-inline" key={a.id}>
              <Field id={`reg-group-${a.id}`} label={`Group ${i + 1}`} error={errors[`group.${a.id}`]}>
                {(p) => (
                  <input
                    {...p}
                    type="text"
                    value={a.group}
                    autoComplete="off"
                    spellcheck={false}
                    onInput={(e) => set({ access: f.access.map((x) => (x.id === a.id ? { ...x, group: (e.target as HTMLInputElement).value } : x)) })}
                  />
                )}
              </Field>
              <Field id={`reg-role-${a.id}`} label={`Role ${i + 1}`}>
                {(p) => (
                  <select {...p} value={a.role} onChange={(e) => set({ access: f.access.map((x) => (x.id === a.id ? { ...x, role: (e.target as HTMLSelectElement).value } : x)) })}>
                    <option value="admin">admin</option>
                    <option value="developer">developer</option>
                    <option value="reader">reader</option>
                  </select>
                )}
              </Field>
              <button type="button" class="btn small ghost" aria-label={`Remove access row ${i + 1}`} onClick={() => set({ access: f.access.filter((x) => x.id !== a.id) })}>
                Remove
              </button>
            </div>
          ))}
          <button type="button" class="btn small" onClick={() => set({ access: [...f.access, { id: rowId(), group: '', role: 'developer' }] })}>
            Add group
          </button>
        </fieldset>
        {!edit && (
          <fieldset class="field">
            <legend>Platform repository (optional)</legend>
            <p class="hint">Defaults come from the operator’s configuration.</p>
            <div class="grid3">
              <Field id="reg-provider" label="Provider" error={errors.provider}>
                {(p) => (
                  <select {...p} value={f.provider} onChange={(e) => set({ provider: (e.target as HTMLSelectElement).value })}>
                    <option value="">default</option>
                    <option value="github">github</option>
                    <option value="gitea">gitea</option>
                    <option value="local">local</option>
                  </select>
                )}
              </Field>
              <Field id="reg-owner" label="Owner">
                {(p) => <input {...p} type="text" value={f.owner} autoComplete="off" onInput={(e) => set({ owner: (e.target as HTMLInputElement).value })} />}
              </Field>
              <Field id="reg-repo" label="Repository name">
                {(p) => (
                  <input {...p} type="text" value={f.repoName} placeholder={f.name ? `${f.name}-platform` : undefined} autoComplete="off" onInput={(e) => set({ repoName: (e.target as HTMLInputElement).value })} />
                )}
              </Field>
            </div>
            <Field id="reg-deletion" label="When the registration is deleted" hint="Delete removes the platform repository and the namespaces; Retain keeps them.">
              {(p) => (
                <select {...p} value={f.deletionPolicy} onChange={(e) => set({ deletionPolicy: (e.target as HTMLSelectElement).value })}>
                  <option value="Retain">Retain the repository and namespaces</option>
                  <option value="Delete">Delete the repository and namespaces</option>
                </select>
              )}
            </Field>
          </fieldset>
        )}
        {error && <ErrorBox error={error} what={edit ? 'The registration was not changed' : 'The app was not registered'} />}
        <div class="dialog-actions">
          <button type="button" class="btn" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" class="btn primary" disabled={busy}>
            {busy ? 'Saving…' : edit ? 'Save' : 'Register'}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
