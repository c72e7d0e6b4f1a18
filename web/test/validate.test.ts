// validate.test.ts - the checks the forms run as you type: names, the '<app>-' prefix, key names,
// durations, Git URLs.
import { describe, expect, it } from 'vitest';
import { appNamespace, dnsLabel, gitUrl, interval, secretKey, secretName, substituteKey } from '../src/validate';

describe('dnsLabel', () => {
  it('accepts a lowercase DNS label', () => expect(dnsLabel('db-creds')).toBeNull());
  it('requires a value', () => expect(dnsLabel('')).toMatch(/required/));
  it('refuses uppercase', () => expect(dnsLabel('Db')).toMatch(/lowercase/));
  it('refuses other characters', () => expect(dnsLabel('a_b')).toMatch(/only lowercase letters/));
  it('refuses a leading or trailing dash', () => {
    expect(dnsLabel('-a')).toMatch(/start and end/);
    expect(dnsLabel('a-')).toMatch(/start and end/);
  });
  it('counts the length', () => expect(dnsLabel('a'.repeat(64))).toMatch(/at most 63 characters \(this one has 64\)/));
});

describe('secretName', () => {
  it('refuses a name that exists', () => expect(secretName('db', ['db'])).toMatch(/exists already/));
  it('accepts a new name', () => expect(secretName('db', ['other'])).toBeNull());
});

describe('secretKey', () => {
  it('accepts letters, digits, - _ .', () => expect(secretKey('DB_PASS.v-1')).toBeNull());
  it('refuses <script>', () => expect(secretKey('<script>')).toMatch(/may hold only/));
  it('refuses . and ..', () => {
    expect(secretKey('.')).toMatch(/not allowed/);
    expect(secretKey('..')).toMatch(/not allowed/);
  });
  it('refuses a duplicate', () => expect(secretKey('a', ['a'])).toMatch(/appears twice/));
  it('requires a name', () => expect(secretKey('')).toMatch(/required/));
});

describe('appNamespace (the <app>- prefix)', () => {
  it('refuses a name without the prefix', () => expect(appNamespace('shop', 'qa')).toMatch(/start with 'shop-'/));
  it('refuses the bare prefix', () => expect(appNamespace('shop', 'shop-')).toMatch(/start with 'shop-'/));
  it('refuses uppercase after the prefix', () => expect(appNamespace('shop', 'shop-QA')).toMatch(/lowercase/));
  it('refuses the platform namespace', () => expect(appNamespace('shop', 'shop-platform')).toMatch(/platform namespace/));
  it('refuses one the app has', () => expect(appNamespace('shop', 'shop-dev', ['shop-dev'])).toMatch(/already/));
  it('accepts a good name', () => expect(appNamespace('shop', 'shop-qa', ['shop-dev'])).toBeNull());
});

describe('interval', () => {
  it('accepts Flux durations', () => {
    for (const d of ['30s', '1m', '1h30m', '500ms']) expect(interval(d)).toBeNull();
  });
  it('is optional unless required', () => {
    expect(interval('')).toBeNull();
    expect(interval('', true)).toMatch(/required/);
  });
  it('refuses other text', () => expect(interval('1 minute')).toMatch(/not a duration/));
});

describe('gitUrl', () => {
  it('explains scp syntax with the URL to use', () =>
    expect(gitUrl('git@example.com:org/repo.git')).toContain('ssh://git@example.com/org/repo.git'));
  it('accepts ssh:// and https://', () => {
    expect(gitUrl('ssh://git@example.com/org/repo.git')).toBeNull();
    expect(gitUrl('https://example.com/org/repo.git')).toBeNull();
  });
  it('requires a value', () => expect(gitUrl('')).toMatch(/required/));
});

describe('substituteKey', () => {
  it('refuses a leading digit', () => expect(substituteKey('1BAD')).toMatch(/do not start with a digit/));
  it('accepts a variable name', () => expect(substituteKey('GREETING')).toBeNull());
  it('refuses a duplicate', () => expect(substituteKey('A', ['A'])).not.toBeNull());
});
