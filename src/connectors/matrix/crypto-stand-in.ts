/**
 * The Matrix bot SDK (under matrix-appservice-bridge) loads @matrix-org/matrix-sdk-crypto-nodejs
 * when it is imported; the real package needs a native binary its installer downloads, and
 * qqbridge never uses end-to-end encryption. package.json depends on our stand-in
 * (vendor/matrix-sdk-crypto-nodejs) and, in a clone, `overrides` makes the SDK use it too. npm
 * ignores `overrides` outside the root project, so an install from the npm tarball gives the SDK
 * the real package nested under it, without its binary. Importing this module first makes the
 * SDK's require of the crypto package return the stand-in, whatever the install layout.
 */
import { createRequire, Module } from 'node:module';

const CRYPTO = '@matrix-org/matrix-sdk-crypto-nodejs';
const STAND_IN_MARK = 'qqbridge stand-in';

/**
 * Where the SDK's require of the crypto package lands, and our stand-in; when they differ, put
 * the stand-in in the require cache under the SDK's path. Returns what it did (for tests/logs).
 */
export function useCryptoStandIn(opts: { from?: string; sdkEntry?: string } = {}): 'already' | 'redirected' | 'no-sdk' | 'no-stand-in' {
  const own = createRequire(opts.from ?? import.meta.url);
  let standIn: string;
  try {
    standIn = own.resolve(CRYPTO);
    const pkg = own(`${CRYPTO}/package.json`) as { description?: string };
    if (!pkg.description?.startsWith(STAND_IN_MARK)) return 'no-stand-in';
  } catch {
    return 'no-stand-in';
  }
  let sdkEntry = opts.sdkEntry;
  if (!sdkEntry) {
    try {
      sdkEntry = createRequire(own.resolve('matrix-appservice-bridge')).resolve('@vector-im/matrix-bot-sdk');
    } catch {
      return 'no-sdk';
    }
  }
  let target: string;
  try {
    target = createRequire(sdkEntry).resolve(CRYPTO);
  } catch {
    return 'no-sdk';
  }
  if (target === standIn) return 'already';
  const cache = own.cache;
  if (!cache[target]) {
    const m = new Module(target);
    m.filename = target;
    m.exports = own(standIn) as unknown;
    m.loaded = true;
    cache[target] = m;
  }
  return 'redirected';
}

useCryptoStandIn();
