/**
 * What the QQ group sees when people talk on IRC, read from the simulator's record of what the
 * bridge sent (it checks every request as strictly as the real server did).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { GROUP, HUMAN_NICK, startHarness, type Harness, type SentRecord } from './harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});
beforeEach(async () => {
  await h.qq.call('DELETE', '/sent');
});

const font = (s: SentRecord) => s.content[s.content.length - 1] as [string, unknown];

describe('IRC -> QQ', () => {
  it('an IRC line arrives in the QQ group as [nick] text, font last, with no protocol violation', async () => {
    h.human.say(h.channel, 'hello QQ');
    const [s] = await h.qq.waitForSent('the line in QQ', (sent) => sent.length >= 1);
    expect(s!.endpoint).toBe('send_qun_msg2');
    expect(s!.group).toBe(GROUP);
    expect(s!.text).toBe(`[${HUMAN_NICK}] hello QQ`);
    expect(font(s!)[0]).toBe('font');
    expect(await h.qq.violations()).toEqual([]);
  });

  it('IRC bold and colour codes are stripped', async () => {
    h.human.say(h.channel, '\x02bold\x02 and \x0304,01red\x03 and \x1Ditalic\x0F done');
    const [s] = await h.qq.waitForSent('the styled line', (sent) => sent.length >= 1);
    expect(s!.text).toBe(`[${HUMAN_NICK}] bold and red and italic done`);
    expect(s!.text).not.toMatch(/[\x00-\x1f]/);
  });

  it('/me waves arrives as * nick waves', async () => {
    h.human.say(h.channel, '\x01ACTION waves\x01');
    const [s] = await h.qq.waitForSent('the action', (sent) => sent.length >= 1);
    expect(s!.text).toBe(`* ${HUMAN_NICK} waves`);
  });

  it('[微笑] typed on IRC becomes a real QQ face', async () => {
    h.human.say(h.channel, 'hi [微笑]');
    const [s] = await h.qq.waitForSent('the face', (sent) => sent.length >= 1);
    expect(s!.faces).toEqual([14]);
    expect(s!.text).toBe(`[${HUMAN_NICK}] hi `);
    expect(s!.content).toContainEqual(['face', 14]);
  });

  it('2000 bytes typed on IRC as several lines all arrive, in order', async () => {
    const lines = Array.from({ length: 6 }, (_, i) => `part${i} ${'中文'.repeat(60)} end${i}`); // ~370 bytes each
    for (const l of lines) h.human.say(h.channel, l);
    const sent = await h.qq.waitForSent('six lines', (s) => s.length >= 6);
    expect(sent.map((s) => s.text)).toEqual(lines.map((l) => `[${HUMAN_NICK}] ${l}`));
    expect(Buffer.byteLength(lines.join(''))).toBeGreaterThan(2000);
    expect(await h.qq.violations()).toEqual([]);
  });
});
