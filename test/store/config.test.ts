import { describe, expect, it } from 'vitest';
import { storeConfigSchema } from '../../src/store/config.js';

describe('storeConfigSchema', () => {
  it('defaults to SQLite (no url) when the section is absent or empty', () => {
    expect(storeConfigSchema.parse(undefined)).toEqual({});
    expect(storeConfigSchema.parse({})).toEqual({});
  });

  it('accepts a PostgreSQL URL', () => {
    expect(storeConfigSchema.parse({ url: 'postgres://bridge:pw@db:5432/qqbridge' }).url).toBe('postgres://bridge:pw@db:5432/qqbridge');
    expect(storeConfigSchema.parse({ url: 'postgresql://db/qqbridge' }).url).toBe('postgresql://db/qqbridge');
  });

  it('rejects other URLs and unknown keys with a message naming the key', () => {
    const bad = storeConfigSchema.safeParse({ url: 'mysql://db/x' });
    expect(bad.success).toBe(false);
    expect(bad.error!.issues[0]).toMatchObject({ path: ['url'], message: expect.stringMatching(/PostgreSQL URL/) });
    const typo = storeConfigSchema.safeParse({ uri: 'postgres://db/x' });
    expect(typo.success).toBe(false);
    expect(JSON.stringify(typo.error!.issues)).toContain('uri');
  });
});
