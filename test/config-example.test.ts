/**
 * config.example.yaml is what a new user copies: every alternative it shows in comments (the
 * OneBot and Milky sections, qq.pacing, qq.alert, store.outage) must be valid once uncommented,
 * so a key renamed in a schema cannot leave the example stale.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config.js';
import { resolvePacing, type AlertRoom } from '../src/connectors/qq/account/config.js';
import { holdOptions } from '../src/store/config.js';

const example = readFileSync('config.example.yaml', 'utf8').split('\n');
const env = { QQ_PASSWORD: 'pw', ONEBOT_TOKEN: 'ob-token', MILKY_TOKEN: 'mk-token' };

/** Index of the one line that starts with `prefix`. */
function lineOf(prefix: string): number {
  const found = example.flatMap((l, i) => (l.startsWith(prefix) ? [i] : []));
  expect(found, `config.example.yaml has one line starting with ${JSON.stringify(prefix)}`).toHaveLength(1);
  return found[0]!;
}

/**
 * The commented lines from the one starting with `first` up to (not including) a line that is
 * only "#" or not a comment (or only that one line), with one level of "# " removed.
 */
function uncomment(first: string, opts: { oneLine?: boolean } = {}): string[] {
  const indent = '  ';
  const out: string[] = [];
  const from = lineOf(first);
  for (let i = from; i < (opts.oneLine ? from + 1 : example.length); i++) {
    const l = example[i]!;
    if (!l.startsWith(`${indent}# `)) break;
    out.push(indent + l.slice(indent.length + 2));
  }
  return out;
}

/** The example with its `qq:` section replaced by `qq` (the lines after `qq:`). */
function withQq(qq: string[], rest: string[] = example): string {
  const start = rest.indexOf('qq:');
  const end = rest.findIndex((l, i) => i > start && /^\S/.test(l) && !l.startsWith('#'));
  // Keep the comment lines that follow the section (they belong to the next one).
  let stop = end;
  while (stop > start && rest[stop - 1]!.startsWith('#')) stop--;
  return [...rest.slice(0, start + 1), ...qq, ...rest.slice(stop)].join('\n');
}

const pacingAndAlert = [...uncomment('  # pacing:', { oneLine: true }), ...uncomment('  # alert:', { oneLine: true })];

describe('config.example.yaml', () => {
  it('is valid as shipped, with WebQQ and the secret from the environment', () => {
    const c = parseConfig(example.join('\n'), 'config.example.yaml', env);
    expect(c.qq.protocol).toBe('webqq');
  });

  it('its qq.pacing, qq.alert and store.outage examples are valid and mean what their comments say', () => {
    const qqStart = lineOf('qq:');
    const qqEnd = lineOf('  # --- protocol: onebot');
    const webqq = example.slice(qqStart + 1, qqEnd);
    const outage = uncomment('  # outage:');
    const text = withQq([...webqq, ...pacingAndAlert]).replace('store:\n', `store:\n${outage.join('\n')}\n`);
    const c = parseConfig(text, 'config.example.yaml', env);
    // qq.pacing and qq.alert belong to the QQ adapter, not to one backend's type (as in connector.ts).
    expect(resolvePacing(c.qq as Parameters<typeof resolvePacing>[0])).toEqual({ intervalMs: 1000, jitter: 0.3, burst: 3, coalesceAfter: 3, backoffMinMs: 30_000, backoffMaxMs: 1_800_000 });
    expect((c.qq as { alert?: AlertRoom }).alert).toEqual({ network: 'irc', room: '#bridge-ops' });
    expect(holdOptions(c.store)).toEqual({ maxMessages: 10_000, maxBytes: 32 * 1024 * 1024, exitAfterMs: 600_000 });
  });

  it('its protocol: onebot section is valid once uncommented (with uin kept, pacing and alert)', () => {
    const onebot = uncomment('  # protocol: onebot');
    const uin = example[lineOf('  uin:')]!;
    const c = parseConfig(withQq([...onebot, uin, ...pacingAndAlert]), 'config.example.yaml', env);
    expect(c.qq).toMatchObject({ protocol: 'onebot', uin: 123456789, onebot: { mode: 'forward', url: 'ws://127.0.0.1:3001', accessToken: 'ob-token' } });
  });

  it('its protocol: milky section is valid once uncommented', () => {
    const milky = uncomment('  # protocol: milky');
    const c = parseConfig(withQq([...milky, ...pacingAndAlert]), 'config.example.yaml', env);
    expect(c.qq).toMatchObject({ protocol: 'milky', milky: { url: 'http://127.0.0.1:3000', accessToken: 'mk-token', events: 'websocket' } });
  });
});
