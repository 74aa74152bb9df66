/**
 * The simulator is an independent server: of the client it may use only the shared protocol
 * crypto (pinned by the reference's vectors), so a client bug elsewhere cannot be mirrored by it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const SIM = path.resolve(__dirname, '../../src/simulator');

describe('simulator ↔ client boundary', () => {
  it('imports nothing of the WebQQ client but protocol-crypto', () => {
    const imports: string[] = [];
    for (const f of readdirSync(SIM).filter((n) => n.endsWith('.ts'))) {
      for (const m of readFileSync(path.join(SIM, f), 'utf8').matchAll(/from '([^']*connectors\/[^']*)'/g)) imports.push(`${f}: ${m[1]}`);
    }
    expect(imports.length).toBeGreaterThan(0);
    expect(imports.filter((i) => !i.endsWith('connectors/qq/webqq/protocol-crypto.js'))).toEqual([]);
  });
});
