/**
 * `qq.era: smartqq` from the config to a live client: check-config's rules for it, and the WebQQ
 * client the backend builds from it logging in with SmartQQ's password login against the
 * simulator (holding no RSA key, as with Tencent's real key) and relaying a group message.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../../src/config.js';
import type { WebqqConfig } from '../../../../src/connectors/qq/config.js';
import { webqqAccountFrom } from '../../../../src/connectors/qq/webqq/account-options.js';
import { WebQqClient, type ClientState } from '../../../../src/connectors/qq/webqq/client.js';
import type { QqEvent } from '../../../../src/connectors/qq/webqq/events.js';
import { silentLogger } from '../../../../src/log.js';
import { startSimulator } from '../../../../src/simulator/index.js';

const config = (qq: string) => `qq:\n${qq}\nirc: { host: irc.example.org, nick: qqbridge }\nmappings:\n  - qq: { group: 346167134 }\n    irc: "#qq"\n`;
const problems = (text: string) => {
  try {
    parseConfig(text, 'c.yaml', {});
  } catch (e) {
    return (e as Error).message.split('\n');
  }
  return [];
};

describe('qq.era', () => {
  it('smartqq with a password is SmartQQ\'s password login; left out it stays WebQQ\'s', () => {
    const smart = parseConfig(config('  uin: 2769546520\n  password: x\n  era: smartqq'), 'c.yaml', {}).qq as WebqqConfig;
    expect(webqqAccountFrom(smart).passwordEra).toBe('smartqq');
    const plain = parseConfig(config('  uin: 2769546520\n  password: x'), 'c.yaml', {}).qq as WebqqConfig;
    expect(webqqAccountFrom(plain).passwordEra).toBeUndefined();
  });

  it('names the key of a QR login asked of WebQQ, and of an era that does not exist', () => {
    expect(problems(config('  uin: 1\n  login: qrcode\n  era: webqq'))).toEqual([
      "c.yaml:4:8: qq.era: webqq has no QR-code login (QR codes are SmartQQ's); use era: smartqq or leave era out",
    ]);
    expect(problems(config('  uin: 1\n  password: x\n  era: mobileqq'))[0]).toMatch(/^c\.yaml:4:8: qq\.era: .*"webqq".*"smartqq"/);
  });
});

describe('a client configured with qq.era: smartqq', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'qq-era-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('logs in with SmartQQ\'s password login and receives group messages, zero violations', async () => {
    const sim = await startSimulator({ pollHoldMs: 250, log: silentLogger });
    const qq = parseConfig(config(`  uin: 2769546520\n  password: "123456"\n  era: smartqq\n  endpoint: ${sim.url}\n  stateDir: ${dir}`), 'c.yaml', {}).qq as WebqqConfig;
    const events: QqEvent[] = [];
    const states: ClientState[] = [];
    const client = new WebQqClient(webqqAccountFrom(qq), {
      log: silentLogger,
      onEvent: async (e) => void events.push(e),
      onState: (s) => void states.push(s),
      pollTimeoutMs: 5000,
    });
    const control = async (method: string, p: string, body?: unknown) => {
      const res = await fetch(`${sim.controlUrl}${p}`, { method, ...(body ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } } : {}) });
      return JSON.parse(await res.text()) as unknown;
    };
    try {
      await client.start();
      expect(states).toEqual(['connecting', 'online']);
      const st = (await control('GET', '/state')) as { sessions: { qq: number; logins: number }[] };
      expect(st.sessions.find((s) => s.qq === 2769546520)?.logins).toBe(1);
      await control('POST', '/inject', { group: 346167134, from: 2440652742, text: 'hello from SmartQQ' });
      for (let i = 0; i < 200 && !events.some((e) => e.type === 'group_message'); i++) await new Promise((r) => setTimeout(r, 25));
      expect(events.find((e) => e.type === 'group_message')).toMatchObject({ groupNumber: 346167134, senderQq: 2440652742 });
      expect(await control('GET', '/violations')).toEqual([]);
    } finally {
      await client.stop();
      await sim.close();
    }
  });
});
