// status.test.ts - status derivation: a secret's Pending -> Committed -> Applied (and Error, Deleting),
// Flux's Ready/Suspended/DependencyNotReady with the next step, revisions shortened.
import { describe, expect, it } from 'vitest';
import { blockingDependencies, fluxHealth, secretHealth, secretStepIndex, shortRevision } from '../src/status';
import type { Kustomization, SecretItem } from '../src/types';

const secret = (status: string, lastError: string | null = null) => ({ name: 'db', status, lastError }) as unknown as SecretItem;

describe('secret status', () => {
  it('orders the journey Pending, Committed, Applied', () => {
    expect(['Pending', 'Committed', 'Applied'].map(secretStepIndex)).toEqual([0, 1, 2]);
    expect(secretStepIndex('Error')).toBe(-1);
  });
  it('Applied is ok; Committed and Deleting are busy with a next step', () => {
    expect(secretHealth(secret('Applied'), 'shop')).toMatchObject({ label: 'Applied', tone: 'ok' });
    expect(secretHealth(secret('Committed'), 'shop')).toMatchObject({ label: 'Committed', tone: 'busy' });
    expect(secretHealth(secret('Committed'), 'shop').next).toMatch(/Flux applies it/);
    expect(secretHealth(secret('Deleting'), 'shop')).toMatchObject({ label: 'Deleting', tone: 'busy' });
  });
  it('Error shows last-error and what to do, naming the app', () => {
    const h = secretHealth(secret('Error', 'push rejected'), 'shop');
    expect(h).toMatchObject({ label: 'Error', tone: 'bad', message: 'push rejected' });
    expect(h.next).toContain('shop-platform');
  });
  it('anything else is Pending', () => {
    expect(secretHealth(secret(''), 'shop').label).toBe('Pending');
    expect(secretHealth(secret('Pending'), 'shop').next).toMatch(/registration shop is Ready/);
  });
});

const ks = (o: Partial<Kustomization>) => ({ name: 'k', namespace: 'shop-dev', conditions: [], ...o }) as unknown as Kustomization;
const ready = (status: string, reason: string | null = null, message: string | null = null) => ({ status, reason, message });

describe('Flux status', () => {
  it('not reconciled yet without conditions', () => expect(fluxHealth(ks({})).label).toBe('Not reconciled yet'));
  it('Ready', () => {
    const c = [{ type: 'Ready', status: 'True', reason: 'ReconciliationSucceeded', message: 'Applied' }];
    expect(fluxHealth(ks({ conditions: c as never, ready: ready('True') as never }))).toMatchObject({ label: 'Ready', tone: 'ok' });
  });
  it('Suspended wins and says how to resume', () => {
    const h = fluxHealth(ks({ suspended: true, ready: ready('True') as never }));
    expect(h.label).toBe('Suspended');
    expect(h.next).toMatch(/Resume/);
  });
  it('dependency not ready names the dependency', () => {
    const c = [{ type: 'Ready', status: 'False', reason: 'DependencyNotReady', message: "dependency 'shop-dev/infra' is not ready" }];
    const h = fluxHealth(ks({ conditions: c as never, ready: ready('False', 'DependencyNotReady') as never, dependsOn: [{ name: 'infra' }] as never }));
    expect(h.label).toBe('Waiting for dependency');
    expect(h.next).toContain('infra');
    expect(h.next).toContain('spec.dependsOn');
  });
  it('a missing path is explained as the path, not the source', () => {
    const m = 'kustomization path not found: stat /tmp/kustomization-1/missing: no such file or directory';
    const c = [{ type: 'Ready', status: 'False', reason: 'ArtifactFailed', message: m }];
    const h = fluxHealth(ks({ conditions: c as never, ready: ready('False', 'ArtifactFailed', m) as never }));
    expect(h).toMatchObject({ label: 'Failed', tone: 'bad', message: m });
    expect(h.next).toMatch(/spec\.path/);
    const other = fluxHealth(ks({ conditions: c as never, ready: ready('False', 'ArtifactFailed', 'cannot fetch artifact') as never }));
    expect(other.next).toMatch(/GitRepository/);
  });
  it('lists the blocking dependencies', () => {
    const k = ks({ dependsOn: [{ name: 'infra' }, { name: 'missing' }] as never });
    const infra = ks({ name: 'infra', suspended: true });
    expect(blockingDependencies(k, [k, infra])).toEqual([
      { name: 'infra', why: 'suspended' },
      { name: 'missing', why: "no Kustomization 'missing' in shop-dev" },
    ]);
  });
  it('shortens revisions', () => {
    expect(shortRevision('main@sha1:0123456789abcdef')).toBe('main@0123456');
    expect(shortRevision(null)).toBe('');
  });
});
