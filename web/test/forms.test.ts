// forms.test.ts - the forms as data: secret key-value rows (write-only values, empty extra rows,
// removal), target defaults, and the Kustomization's postBuild.substitute rows and requests.
import { describe, expect, it } from 'vitest';
import {
  editSecretForm,
  hasErrors,
  kustomizationErrors,
  kustomizationRequest,
  newKustomizationForm,
  newSecretForm,
  rowId,
  secretErrors,
  secretRequest,
} from '../src/forms';
import type { SecretItem } from '../src/types';

const ctx = { existing: ['old'], namespaces: ['shop-dev', 'shop-prod'] };

describe('secret form', () => {
  it('preselects the only namespace as target', () => {
    expect(newSecretForm(['shop-dev']).targets).toEqual(['shop-dev']);
    expect(newSecretForm(['shop-dev', 'shop-prod']).targets).toEqual([]);
  });
  it('asks for a name, a target and a key with its value', () => {
    const f = newSecretForm(ctx.namespaces);
    const e = secretErrors(f, ctx);
    expect(e.name).toMatch(/required/);
    expect(e.targets).toMatch(/at least one target/);
    const r = f.rows[0].id;
    expect(e[`key.${r}`]).toMatch(/required/);
    expect(e[`value.${r}`]).toMatch(/enter a value/);
  });
  it('is valid with a name, a target and one row; an empty extra row is ignored', () => {
    const f = newSecretForm(['shop-dev']);
    f.name = 'db';
    f.rows[0].key = 'password';
    f.rows[0].value = 's3cret';
    f.rows.push({ id: rowId(), key: '', value: '', existing: false, remove: false });
    expect(hasErrors(secretErrors(f, ctx))).toBe(false);
    expect(secretRequest(f)).toEqual({ name: 'db', targetNamespaces: ['shop-dev'], data: { password: 's3cret' } });
  });
  it('flags a duplicate key on the later rows', () => {
    const f = newSecretForm(['shop-dev']);
    f.name = 'db';
    f.rows = [
      { id: rowId(), key: 'a', value: '1', existing: false, remove: false },
      { id: rowId(), key: 'a', value: '2', existing: false, remove: false },
    ];
    const e = secretErrors(f, ctx);
    expect(Object.values(e).some((m) => /appears twice/.test(m))).toBe(true);
  });
  it('refuses an existing name and a target the app no longer has', () => {
    const f = newSecretForm([]);
    f.name = 'old';
    f.targets = ['gone'];
    const e = secretErrors(f, ctx);
    expect(e.name).toMatch(/exists already/);
    expect(e.targets).toMatch(/no longer a namespace/);
  });
  const item: SecretItem = {
    name: 'db',
    keys: ['user', 'password'],
    targetNamespaces: ['shop-dev'],
    targetName: 'db',
    resourceVersion: '42',
  } as unknown as SecretItem;
  it('edit: values are never prefilled; unchanged keys are not sent', () => {
    const f = editSecretForm(item);
    expect(f.rows.map((r) => r.value)).toEqual(['', '']);
    expect(f.targetName).toBe('');
    expect(hasErrors(secretErrors(f, ctx))).toBe(false);
    expect(secretRequest(f)).toEqual({ targetNamespaces: ['shop-dev'], targetName: 'db', resourceVersion: '42' });
  });
  it('edit: a new value, a removed key', () => {
    const f = editSecretForm(item);
    f.rows[0].remove = true;
    f.rows[1].value = 'new';
    expect(secretRequest(f)).toEqual({
      targetNamespaces: ['shop-dev'],
      targetName: 'db',
      data: { password: 'new' },
      removeKeys: ['user'],
      resourceVersion: '42',
    });
  });
  it('edit: removing every key is refused', () => {
    const f = editSecretForm(item);
    for (const r of f.rows) r.remove = true;
    expect(secretErrors(f, ctx).rows).toMatch(/delete the secret instead/);
  });
});

describe('Kustomization form', () => {
  const kctx = { namespaces: ['shop-dev'], sources: ['app'], existing: [], appNamespaces: ['shop-dev', 'shop-prod'] };
  const base = () => {
    const f = newKustomizationForm('shop-dev');
    f.name = 'app';
    f.source = 'app';
    f.path = './deploy';
    return f;
  };
  it('is valid with a name, a source and a path', () => expect(kustomizationErrors(base(), kctx)).toEqual({}));
  it('sends postBuild.substitute rows, the target namespace and dependsOn', () => {
    const f = base();
    f.targetNamespace = 'shop-prod';
    f.substitute = [{ id: rowId(), key: 'GREETING', value: '<b>hi</b>' }];
    f.dependsOn = ['infra'];
    expect(kustomizationRequest(f)).toEqual({
      namespace: 'shop-dev',
      name: 'app',
      sourceRef: { name: 'app' },
      path: './deploy',
      interval: '10m',
      prune: true,
      targetNamespace: 'shop-prod',
      postBuild: { substitute: { GREETING: '<b>hi</b>' } },
      dependsOn: [{ name: 'infra' }],
    });
  });
  it('checks variable names and refuses a dependency on itself', () => {
    const f = base();
    const id = rowId();
    f.substitute = [{ id, key: '1BAD', value: 'x' }];
    f.dependsOn = ['app'];
    const e = kustomizationErrors(f, kctx);
    expect(e[`sub.${id}`]).toMatch(/do not start with a digit/);
    expect(e.dependsOn).toMatch(/itself/);
  });
  it('explains a missing source and a foreign target namespace', () => {
    const f = base();
    f.source = '';
    f.targetNamespace = 'other';
    const e = kustomizationErrors(f, { ...kctx, sources: [] });
    expect(e.source).toMatch(/create one first/);
    expect(e.targetNamespace).toMatch(/app’s namespaces/);
  });
});
