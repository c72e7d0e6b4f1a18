// pages/Secrets.tsx - managed secrets: key names (never values), targets, and each target's journey
// Pending -> Committed -> Applied as it happens (live stream); create and edit with write-only values,
// delete with a confirmation.
import { useState } from 'preact/hooks';
import { appPath, del, post, put } from '../api';
import { editSecretForm, hasErrors, newSecretForm, rowId, secretErrors, secretRequest, type SecretForm } from '../forms';
import { SECRET_STEPS, secretHealth, secretStepIndex, shortCommit } from '../status';
import { announce, listKey, upsert, useList } from '../store';
import type { AppItem, SecretItem } from '../types';
import { Badge, Confirm, Dialog, Empty, ErrorBox, Field, RelTime, useSubmit } from '../ui';
import { ListBody, PageHead, PermsError, RoleNotice, type PageProps } from './common';

function Journey({ status, ns }: { status: string; ns: string }) {
  const at = secretStepIndex(status);
  const label = at >= 0 ? `${ns}: ${status} (step ${at + 1} of ${SECRET_STEPS.length})` : `${ns}: ${status}`;
  return (
    <div class="journey-row">
      <span class="journey-ns">{ns}</span>
      <ol class={`journey ${status === 'Error' ? 'journey-error' : ''}`} aria-label={label} data-status={status}>
        {SECRET_STEPS.map((s, i) => (
          <li key={s} class={i < at || status === 'Applied' ? 'done' : i === at ? 'current' : 'todo'} aria-current={i === at ? 'step' : undefined}>
            <span class="step-mark" aria-hidden="true">
              {i < at || status === 'Applied' ? '✓' : i === at ? '●' : '○'}
            </span>
            {s}
          </li>
        ))}
      </ol>
      {(status === 'Error' || status === 'Deleting') && <span class={`badge tone-${status === 'Error' ? 'bad' : 'busy'}`}>{status}</span>}
    </div>
  );
}

function SecretCard({
  s,
  app,
  canEdit,
  canDelete,
  onEdit,
  onDelete,
}: {
  s: SecretItem;
  app: AppItem;
  canEdit: boolean;
  canDelete: boolean;
  onEdit: () => void;
  onDelete: () => void;
}) {
  const h = secretHealth(s, app.name);
  const deleting = s.status === 'Deleting';
  return (
    <li class="card" data-name={s.name} data-status={s.status}>
      <div class="card-head">
        <h2 class="card-title">{s.name}</h2>
        <Badge health={h} />
        <div class="card-actions">
          {canEdit && !deleting && (
            <button type="button" class="btn small" onClick={onEdit} aria-label={`Edit secret ${s.name}`}>
              Edit
            </button>
          )}
          {canDelete && !deleting && (
            <button type="button" class="btn small danger-ghost" onClick={onDelete} aria-label={`Delete secret ${s.name}`}>
              Delete
            </button>
          )}
        </div>
      </div>
      <dl class="props">
        <dt>Keys</dt>
        <dd class="keys">
          {s.keys.length ? s.keys.map((k) => <code key={k} class="chip">{k}</code>) : <span class="muted">none</span>}
        </dd>
        <dt>Targets</dt>
        <dd>
          <div class="journeys">
            {(s.targets.length ? s.targets : s.targetNamespaces.map((namespace) => ({ namespace, status: s.status }))).map((t) => (
              <Journey key={t.namespace} ns={t.namespace} status={t.status} />
            ))}
          </div>
          <span class="muted">as Secret <code>{s.targetName}</code></span>
        </dd>
        <dt>Commit</dt>
        <dd>
          {s.commit ? <code class="commit" title={s.commit}>{shortCommit(s.commit)}</code> : <span class="muted">not committed yet</span>}
        </dd>
        <dt>Changed</dt>
        <dd>
          {s.requestedBy ? <>by {s.requestedBy}, </> : null}
          created <RelTime iso={s.createdAt} />
        </dd>
      </dl>
      {s.lastError && (
        <div class="card-error" role="note">
          <p>
            <strong>Last error:</strong> {s.lastError}
          </p>
          {h.next && <p class="next">{h.next}</p>}
        </div>
      )}
      {!s.lastError && h.next && s.status !== 'Applied' && <p class="next muted">{h.next}</p>}
    </li>
  );
}

function SecretFormDialog({
  app,
  initial,
  existing,
  onClose,
}: {
  app: AppItem;
  initial: SecretForm;
  existing: string[];
  onClose: () => void;
}) {
  const [f, setF] = useState(initial);
  const [touched, setTouched] = useState<Record<string, boolean>>({});
  const [tried, setTried] = useState(false);
  const errors = secretErrors(f, { existing, namespaces: app.namespaces });
  const show = (k: string) => (tried || touched[k] ? errors[k] : undefined);
  const touch = (k: string) => setTouched((t) => (t[k] ? t : { ...t, [k]: true }));
  const set = (p: Partial<SecretForm>) => setF((x) => ({ ...x, ...p }));
  const setRow = (id: number, p: Partial<SecretForm['rows'][number]>) =>
    setF((x) => ({ ...x, rows: x.rows.map((r) => (r.id === id ? { ...r, ...p } : r)) }));
  const edit = f.mode === 'edit';
  const { busy, error, submit } = useSubmit(
    () =>
      edit
        ? put<SecretItem>(appPath(app.name, `secrets/${encodeURIComponent(f.name)}`), secretRequest(f))
        : post<SecretItem>(appPath(app.name, 'secrets'), secretRequest(f)),
    (s) => {
      upsert(listKey(app.name, 'secrets'), s);
      announce(`Secret ${s.name} ${edit ? 'updated' : 'created'}: ${s.status}`);
      onClose();
    },
  );
  const onSubmit = (e: Event) => {
    e.preventDefault();
    setTried(true);
    if (hasErrors(errors)) {
      const first = (e.target as HTMLFormElement).querySelector<HTMLElement>('[aria-invalid="true"]');
      first?.focus();
      return;
    }
    void submit();
  };
  const liveRows = f.rows.filter((r) => !r.remove);
  return (
    <Dialog title={edit ? `Edit secret ${f.name}` : 'Create secret'} onClose={onClose} wide>
      <form class="form" onSubmit={onSubmit} noValidate>
        {!edit && (
          <Field
            id="secret-name"
            label="Name"
            error={f.name ? errors.name : show('name')}
            hint="Lowercase letters, digits and '-'. Also the Secret’s name in the target namespaces, unless you set a target name."
          >
            {(a) => (
              <input
                {...a}
                type="text"
                value={f.name}
                autoComplete="off"
                spellcheck={false}
                required
                autofocus
                onInput={(e) => set({ name: (e.target as HTMLInputElement).value })}
                onBlur={() => touch('name')}
              />
            )}
          </Field>
        )}
        <fieldset class={`field ${show('targets') ? 'has-error' : ''}`} aria-describedby={show('targets') ? 'secret-targets-error' : undefined}>
          <legend>Target namespaces</legend>
          {app.namespaces.length === 0 && (
            <p class="hint">This app has no namespaces yet: add one on the Namespaces page first.</p>
          )}
          <div class="checks">
            {app.namespaces.map((ns) => (
              <label key={ns} class="check">
                <input
                  type="checkbox"
                  checked={f.targets.includes(ns)}
                  onChange={(e) => {
                    touch('targets');
                    const on = (e.target as HTMLInputElement).checked;
                    set({ targets: on ? [...f.targets, ns] : f.targets.filter((t) => t !== ns) });
                  }}
                />
                {ns}
              </label>
            ))}
          </div>
          {show('targets') && (
            <p class="field-error" id="secret-targets-error">
              {errors.targets}
            </p>
          )}
        </fieldset>
        <Field
          id="secret-target-name"
          label="Target name (optional)"
          error={errors.targetName}
          hint={`The Secret’s name in the target namespaces; empty means ${f.name ? `'${f.name}'` : 'the secret name'}.`}
        >
          {(a) => (
            <input
              {...a}
              type="text"
              value={f.targetName}
              placeholder={f.name || undefined}
              autoComplete="off"
              spellcheck={false}
              onInput={(e) => set({ targetName: (e.target as HTMLInputElement).value })}
            />
          )}
        </Field>
        <fieldset class="field kv">
          <legend>Keys and values</legend>
          <p class="hint" id="kv-hint">
            Values are write-only: nobody can read them back here.{edit ? ' Leave a value empty to keep it.' : ''}
          </p>
          {f.rows.map((r, i) => {
            const ke = tried || touched[`key.${r.id}`] || r.key ? errors[`key.${r.id}`] : undefined;
            const ve = tried || touched[`value.${r.id}`] ? errors[`value.${r.id}`] : undefined;
            return (
              <div class={`kv-row ${r.remove ? 'removed' : ''}`} key={r.id}>
                <div class="kv-key">
                  <label for={`key-${r.id}`}>Key {i + 1}</label>
                  <input
                    id={`key-${r.id}`}
                    type="text"
                    value={r.key}
                    readOnly={r.existing}
                    aria-invalid={ke ? true : undefined}
                    aria-describedby={ke ? `key-${r.id}-error` : undefined}
                    autoComplete="off"
                    spellcheck={false}
                    onInput={(e) => setRow(r.id, { key: (e.target as HTMLInputElement).value })}
                    onBlur={() => touch(`key.${r.id}`)}
                  />
                  {ke && (
                    <p class="field-error" id={`key-${r.id}-error`}>
                      {ke}
                    </p>
                  )}
                </div>
                <div class="kv-value">
                  <label for={`value-${r.id}`}>Value {i + 1}</label>
                  <input
                    id={`value-${r.id}`}
                    type="password"
                    value={r.value}
                    disabled={r.remove}
                    placeholder={r.existing ? 'unchanged' : undefined}
                    autoComplete="new-password"
                    aria-invalid={ve ? true : undefined}
                    aria-describedby={ve ? `value-${r.id}-error` : 'kv-hint'}
                    onInput={(e) => setRow(r.id, { value: (e.target as HTMLInputElement).value })}
                    onBlur={() => touch(`value.${r.id}`)}
                  />
                  {ve && (
                    <p class="field-error" id={`value-${r.id}-error`}>
                      {ve}
                    </p>
                  )}
                </div>
                <div class="kv-remove">
                  {r.existing ? (
                    <button
                      type="button"
                      class="btn small ghost"
                      aria-pressed={r.remove}
                      aria-label={`${r.remove ? 'Keep' : 'Remove'} key ${r.key}`}
                      onClick={() => setRow(r.id, { remove: !r.remove, value: '' })}
                    >
                      {r.remove ? 'Keep' : 'Remove'}
                    </button>
                  ) : (
                    liveRows.length > 1 && (
                      <button
                        type="button"
                        class="btn small ghost"
                        aria-label={`Remove row ${i + 1}`}
                        onClick={() => setF((x) => ({ ...x, rows: x.rows.filter((y) => y.id !== r.id) }))}
                      >
                        Remove
                      </button>
                    )
                  )}
                </div>
              </div>
            );
          })}
          {errors.rows && (tried || edit) && <p class="field-error">{errors.rows}</p>}
          <button
            type="button"
            class="btn small"
            onClick={() => setF((x) => ({ ...x, rows: [...x.rows, { id: rowId(), key: '', value: '', existing: false, remove: false }] }))}
          >
            Add key
          </button>
        </fieldset>
        {error && <ErrorBox error={error} what={edit ? 'The secret was not updated' : 'The secret was not created'} />}
        <div class="dialog-actions">
          <button type="button" class="btn" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" class="btn primary" disabled={busy}>
            {busy ? (edit ? 'Updating…' : 'Creating…') : edit ? 'Update' : 'Create'}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

export function Secrets({ app, perms, permsError }: PageProps) {
  const key = listKey(app.name, 'secrets');
  const list = useList<SecretItem>(key);
  const [form, setForm] = useState<SecretForm | null>(null);
  const [deleting, setDeleting] = useState<SecretItem | null>(null);
  const canCreate = !!perms?.secrets.create;
  const canEdit = !!perms?.secrets.update;
  const canDelete = !!perms?.secrets.delete;
  const names = list.items.map((s) => s.name);
  const rm = useSubmit(
    () => del<SecretItem>(appPath(app.name, `secrets/${encodeURIComponent(deleting!.name)}`)),
    (s) => {
      if (s) upsert(key, s);
      announce(`Secret ${deleting!.name} is being deleted`);
      setDeleting(null);
    },
  );
  const items = [...list.items].sort((a, b) => a.name.localeCompare(b.name));
  return (
    <section class="page">
      <PageHead
        title="Secrets"
        intro={
          <>
            Key-value secrets for {app.name}. The operator encrypts them with SOPS into the platform repo; Flux decrypts
            and applies them in the target namespaces. Values are write-only.
          </>
        }
        actions={
          canCreate && (
            <button type="button" class="btn primary" onClick={() => setForm(newSecretForm(app.namespaces))}>
              Create secret
            </button>
          )
        }
      />
      <PermsError error={permsError} />
      {perms && !canCreate && !canEdit && !canDelete && (
        <RoleNotice perms={perms} app={app} what="secrets’ key names and status" needs="Creating, editing and deleting secrets needs the admin role." />
      )}
      <ListBody
        list={list}
        listKey={key}
        what="secrets"
        empty={
          <Empty title="No secrets yet">
            {canCreate ? (
              <p>Create one: choose its target namespaces and add its keys and values.</p>
            ) : (
              <p>An app admin can create secrets here.</p>
            )}
          </Empty>
        }
      >
        {() => (
          <ul class="cards" aria-label="Secrets">
            {items.map((s) => (
              <SecretCard
                key={s.name}
                s={s}
                app={app}
                canEdit={canEdit}
                canDelete={canDelete}
                onEdit={() => setForm(editSecretForm(s))}
                onDelete={() => {
                  rm.setError(null);
                  setDeleting(s);
                }}
              />
            ))}
          </ul>
        )}
      </ListBody>
      {form && <SecretFormDialog app={app} initial={form} existing={names} onClose={() => setForm(null)} />}
      {deleting && (
        <Confirm
          title={`Delete secret ${deleting.name}?`}
          action="Delete"
          busy={rm.busy}
          error={rm.error}
          onConfirm={() => void rm.submit()}
          onClose={() => setDeleting(null)}
        >
          <p>
            The operator removes its encrypted file from the platform repo, and Flux deletes the Secret{' '}
            <code>{deleting.targetName}</code> from {deleting.targetNamespaces.join(' and ')}. Workloads that use it lose
            access to it.
          </p>
        </Confirm>
      )}
    </section>
  );
}
