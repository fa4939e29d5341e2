import { ConfigError, languageOf, loadConfig } from '../../src/config';

describe('configuration', () => {
  it('has the documented defaults', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({ PORT: 8000, HOST: '127.0.0.1', LOG_LEVEL: 'info', SYNC_MAX_RECORDS: 1_000_000, SYNC_MAX_BODY_BYTES: 1024 * 1024 * 1024, SYNC_CHUNK_RECORDS: 2000 });
    expect(c.DATABASE_URL).toBeUndefined();
  });

  it('names the bad variable', () => {
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(ConfigError);
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(/PORT="eighty"/);
    expect(() => loadConfig({ DATABASE_URL: 'mysql://x' })).toThrow(/DATABASE_URL=\(hidden\)/);
  });

  it('never echoes a secret', () => {
    try {
      loadConfig({ BULKSYNC_ADMIN_CLIENT_ID: 'admin', BULKSYNC_ADMIN_CLIENT_SECRET: 'short' });
      throw new Error('expected a ConfigError');
    } catch (e) {
      expect((e as Error).message).toMatch(/BULKSYNC_ADMIN_CLIENT_SECRET/);
      expect((e as Error).message).not.toMatch(/short/);
    }
  });

  it('takes DATABASE_READ_URL only with DATABASE_URL, and hides it like DATABASE_URL', () => {
    const primary = 'postgres://app:pw@primary/db';
    expect(loadConfig({ DATABASE_URL: primary, DATABASE_READ_URL: 'postgres://app:pw@replica/db' }).DATABASE_READ_URL).toBe('postgres://app:pw@replica/db');
    expect(loadConfig({ DATABASE_URL: primary }).DATABASE_READ_URL).toBeUndefined();
    expect(() => loadConfig({ DATABASE_READ_URL: 'postgres://replica/db' })).toThrow(/DATABASE_READ_URL needs DATABASE_URL/);
    expect(() => loadConfig({ DATABASE_URL: primary, DATABASE_READ_URL: 'mysql://secret@replica' })).toThrow(/DATABASE_READ_URL=\(hidden\)/);
  });

  it('parses sizes and lists of directories', () => {
    const c = loadConfig({ SYNC_MAX_BODY_BYTES: '2mb', SCHEMAS_DIR: 'schemas,examples/pos/schemas' });
    expect(c.SYNC_MAX_BODY_BYTES).toBe(2 * 1024 * 1024);
    expect(c.SCHEMAS_DIR).toHaveLength(2);
  });
});

describe('LANGUAGES', () => {
  it('defaults to a fresh Shopware install: en-GB (system default) and de-DE', () => {
    expect(loadConfig({}).LANGUAGES.map(languageOf)).toEqual([
      { localeCode: 'en-GB', name: 'English' },
      { localeCode: 'de-DE', name: 'Deutsch' },
    ]);
  });

  it('takes <locale>:<name> entries and refuses anything else', () => {
    expect(loadConfig({ LANGUAGES: 'de-DE:Deutsch' }).LANGUAGES.map(languageOf)).toEqual([{ localeCode: 'de-DE', name: 'Deutsch' }]);
    // Written back to an environment (joined), it reads the same.
    expect(loadConfig({ LANGUAGES: loadConfig({}).LANGUAGES.join(',') }).LANGUAGES).toEqual(['en-GB:English', 'de-DE:Deutsch']);
    expect(() => loadConfig({ LANGUAGES: 'German' })).toThrow(/LANGUAGES="German": "German" is not <locale code>:<name>/);
    expect(() => loadConfig({ LANGUAGES: 'de-DE:Deutsch,de-de:German' })).toThrow(/de-de is listed twice/);
  });
});
