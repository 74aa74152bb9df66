/**
 * The layout `npm install -g ./qqbridge-*.tgz` makes: qqbridge's own crypto dependency is the
 * bundled stand-in, but the Matrix SDK gets the real package nested under it (npm applies
 * `overrides` only in the root project), and the real one cannot load without its native binary.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { useCryptoStandIn } from '../../../src/connectors/matrix/crypto-stand-in.js';

const root = mkdtempSync(join(tmpdir(), 'qqbridge-standin-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function write(path: string, text: string): void {
  mkdirSync(dirname(join(root, path)), { recursive: true });
  writeFileSync(join(root, path), text);
}

function pkg(dir: string, name: string, extra: Record<string, unknown> = {}): void {
  write(`${dir}/package.json`, JSON.stringify({ name, version: '0.3.0-beta.1', main: 'index.js', ...extra }));
}

const app = 'node_modules/qqbridge';
const nm = `${app}/node_modules`;
// qqbridge's own dependency: the stand-in from vendor/ (bundled in the tarball).
pkg(`${nm}/@matrix-org/matrix-sdk-crypto-nodejs`, '@matrix-org/matrix-sdk-crypto-nodejs', { description: 'qqbridge stand-in: test' });
write(`${nm}/@matrix-org/matrix-sdk-crypto-nodejs/index.js`, "module.exports = { standIn: true };\n");
// The SDK, as matrix-appservice-bridge's dependency, with the real package nested under it.
pkg(`${nm}/matrix-appservice-bridge`, 'matrix-appservice-bridge');
write(`${nm}/matrix-appservice-bridge/index.js`, "module.exports = require('@vector-im/matrix-bot-sdk');\n");
pkg(`${nm}/@vector-im/matrix-bot-sdk`, '@vector-im/matrix-bot-sdk');
write(`${nm}/@vector-im/matrix-bot-sdk/index.js`, "module.exports = { crypto: require('@matrix-org/matrix-sdk-crypto-nodejs') };\n");
const real = `${nm}/@vector-im/matrix-bot-sdk/node_modules/@matrix-org/matrix-sdk-crypto-nodejs`;
pkg(real, '@matrix-org/matrix-sdk-crypto-nodejs');
write(`${real}/index.js`, "throw new Error(\"Cannot find module '@matrix-org/matrix-sdk-crypto-nodejs-linux-x64-gnu'\");\n");
const from = join(root, app, 'dist/cli/main.js');

describe('the Matrix SDK gets the crypto stand-in in a packed install', () => {
  it('without it, loading the SDK fails as it did from the tarball', () => {
    const req = createRequire(join(root, 'other/x.js'));
    expect(() => req(join(root, `${nm}/matrix-appservice-bridge`))).toThrow(/matrix-sdk-crypto-nodejs-linux-x64-gnu/);
  });

  it('redirects the SDK to the stand-in, and the SDK then loads', () => {
    expect(useCryptoStandIn({ from })).toBe('redirected');
    const bridge = createRequire(from)('matrix-appservice-bridge') as { crypto: { standIn?: boolean } };
    expect(bridge.crypto.standIn).toBe(true);
  });

  it('leaves a clone alone, where the SDK already resolves to the stand-in', () => {
    expect(useCryptoStandIn({ from, sdkEntry: join(root, nm, 'anything.js') })).toBe('already');
  });

  it('does nothing when the crypto package qqbridge depends on is not the stand-in', () => {
    expect(useCryptoStandIn({ from: join(root, real, 'index.js'), sdkEntry: join(root, nm, '@vector-im/matrix-bot-sdk/index.js') })).toBe('no-stand-in');
  });
});
