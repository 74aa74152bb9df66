/**
 * Hostile OneBot and Milky traffic, over the real wire to the simulators: frames and segments of
 * the wrong types, huge arrays, mention floods, and CQ-code / segment injection typed on another
 * network toward QQ. Each time: a clear log line where something was dropped, nothing crashes,
 * the bridge stays connected, the next message is relayed, and nothing typed elsewhere becomes a
 * mention of everyone, a picture or a file in QQ.
 */
import fc from 'fast-check';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { partsFromSegments as oneBotParts } from '../../src/connectors/qq/onebot/parts.js';
import { normalizeMessage, parseCqString } from '../../src/connectors/qq/onebot/segments.js';
import { partsFromSegments as milkyParts, segmentsFromItems } from '../../src/connectors/qq/milky/parts.js';
import { cleanupDirs as cleanupOneBot, GROUP, IRC_ROOM, MEMBERS, startHarness, type Harness } from '../connectors/qq/onebot/harness.js';
import { ALICE, cleanupDirs as cleanupMilky, startMilkyHarness, type MilkyHarness } from '../connectors/qq/milky/harness.js';
import { waitFor } from '../support/wait.js';

const PACING = { intervalMs: 10, jitter: 0.3, burst: 3, coalesceAfter: 0 };
const oneBots: Array<Harness & { dir: string }> = [];
const milkies: MilkyHarness[] = [];
afterEach(async () => {
  for (const h of oneBots.splice(0)) {
    await h.stop();
    await h.sim.close();
  }
  for (const h of milkies.splice(0)) await h.stop();
});
afterAll(() => {
  cleanupOneBot();
  cleanupMilky();
});

/** What IRC users type to make a CQ-string bridge mention everyone or send a local file. */
const INJECTIONS = [
  '[CQ:at,qq=all]',
  '&#91;CQ:at,qq=all&#93;',
  '[CQ:image,file=file:///etc/passwd]',
  '[CQ:reply,id=1][CQ:face,id=14]',
  '@全体成员 @all',
  '{"type":"mention_all","data":{}}',
  '[{"type":"image","data":{"uri":"file:///etc/shadow"}}]',
];

const warns = (lines: Array<Record<string, unknown>>, re: RegExp) => lines.filter((l) => Number(l.level) >= 40 && re.test(String(l.msg)));

describe('hostile OneBot traffic', () => {
  async function start() {
    const h = await startHarness({ pacing: PACING });
    oneBots.push(h);
    await waitFor(() => h.qq.isConnected(), 'QQ (OneBot) online', 5000);
    return h;
  }
  const frame = (h: Harness, message: unknown, extra: Record<string, unknown> = {}) =>
    h.sim.injectRaw(JSON.stringify({
      time: Math.floor(Date.now() / 1000), self_id: 2769546520, post_type: 'message', message_type: 'group', sub_type: 'normal',
      message_id: (Math.random() * 2 ** 31) | 0, group_id: GROUP, user_id: MEMBERS.huxi, message, raw_message: '', font: 0,
      sender: { user_id: MEMBERS.huxi, nickname: 'huxi' }, ...extra,
    }));

  it('wrong types, a 100 000-segment array and a 1 000-mention flood: one line each where something is dropped, nothing lost after them', async () => {
    const h = await start();
    frame(h, 5); // message is a number
    frame(h, [{ type: 7, data: 'x' }, null, 'text', { type: 'text', data: { text: 'kept part' } }]);
    frame(h, [{ type: 'text', data: { text: 'ok' } }], { group_id: 'abc', message_id: [1] }); // ids of the wrong type
    frame(h, [{ type: 'text', data: { text: 'big' } }, ...Array.from({ length: 100_000 }, () => ({ type: 'text', data: { text: 'x' } }))]);
    const flood = Array.from({ length: 1000 }, (_, i) => ({ type: 'at', data: { qq: String(10_000 + i) } }));
    frame(h, [...flood, { type: 'text', data: { text: ' mention flood' } }]);
    h.sim.inject(GROUP, MEMBERS.huxi, [{ type: 'text', data: { text: 'after the hostile frames' } }]);
    await waitFor(() => h.ircTexts().includes('after the hostile frames'), 'the message after them', 10_000);
    expect(h.qq.isConnected()).toBe(true);
    const lines = h.log.lines();
    expect(warns(lines, /malformed segments/).length).toBeGreaterThanOrEqual(3); // number, bad segments, past the limit
    expect(warns(lines, /without group_id or message_id/).length).toBe(1);
    expect(JSON.stringify(lines)).toContain('past the limit of 2000');
    // The kept part of the half-bad message and the flood (bounded) were relayed, in order.
    const texts = h.ircTexts();
    expect(texts.indexOf('kept part')).toBeGreaterThanOrEqual(0);
    const floodText = texts.find((t) => t.endsWith('mention flood'));
    expect(floodText).toBeDefined();
    expect(texts.indexOf(floodText!)).toBeLessThan(texts.indexOf('after the hostile frames'));
  }, 30_000);

  it('CQ codes, entities and JSON typed on IRC reach QQ as literal text segments only; a mention flood typed on IRC mentions nobody', async () => {
    const h = await start();
    const flood = Array.from({ length: 300 }, () => '@全体成员 [CQ:at,qq=all]').join(' ');
    for (const t of [...INJECTIONS, flood]) await h.irc.inject(IRC_ROOM, { text: t });
    const joinedOf = () => h.sim.sends().map((s) => s.segments.map((x) => (x.data as { text?: string }).text ?? '').join(''));
    await waitFor(() => joinedOf().slice(INJECTIONS.length).join('').length >= `[alice] ${flood}`.length, 'every line sent', 20_000);
    const sends = h.sim.sends();
    for (const s of sends) for (const seg of s.segments) expect(seg.type).toBe('text');
    const joined = sends.map((s) => s.segments.map((x) => (x.data as { text: string }).text).join(''));
    INJECTIONS.forEach((t, i) => expect(joined[i]).toBe(`[alice] ${t}`));
    // The flood may be split under QQ's length limit; read back together it is the typed text.
    expect(joined.slice(INJECTIONS.length).join('')).toBe(`[alice] ${flood}`);
    expect(h.sim.violations()).toEqual([]);
  }, 30_000);
});

describe('hostile Milky traffic', () => {
  async function start() {
    // Pings a second apart (production: 15 s): simulator and bridge share one process here, and a
    // multi-megabyte frame keeps both busy for a moment.
    const h = await startMilkyHarness({ pacing: PACING, tuning: { pingIntervalMs: 1000 } });
    milkies.push(h);
    await waitFor(() => h.qq.isConnected(), 'QQ (Milky) online', 5000);
    return h;
  }
  const raw = (h: MilkyHarness, data: Record<string, unknown>, event_type = 'message_receive') =>
    h.sim.control('/raw', { frame: JSON.stringify({ time: Math.floor(Date.now() / 1000), self_id: 2769546520, event_type, data }) });
  const message = (seq: number, segments: unknown, extra: Record<string, unknown> = {}) => ({
    message_scene: 'group', peer_id: GROUP, message_seq: seq, sender_id: ALICE, time: Math.floor(Date.now() / 1000), segments,
    group: { group_id: GROUP, group_name: 'g', member_count: 3, max_member_count: 500, remark: '', created_time: 1, description: '', question: '', announcement: '' },
    group_member: { user_id: ALICE, nickname: 'alice', sex: 'unknown', group_id: GROUP, card: '', title: '', level: 1, role: 'member', join_time: 1, last_sent_time: 0 },
    ...extra,
  });

  it('wrong types, a 100 000-segment array, unknown segments and a 1 000-mention flood: one line each, nothing lost after them', async () => {
    const h = await start();
    // Frames the schema refuses (never relayed, never advance the group's seq)…
    await raw(h, message(900_001, 5)); // segments is a number
    await raw(h, message(900_002, [{ type: 'text', data: { text: 'ok' } }], { peer_id: 'abc' })); // peer of the wrong type
    // …and valid but hostile messages, with the group's real seqs.
    const say = (segments: unknown[]) => h.sim.control('/inject', { group: GROUP, from: ALICE, segments });
    await say([{ type: 'no_such_segment', data: {} }, { type: 'text', data: { text: 'beside an unknown segment' } }]);
    await say(Array.from({ length: 100_000 }, () => ({ type: 'text', data: { text: 'x' } })));
    await say([...Array.from({ length: 1000 }, (_, i) => ({ type: 'mention', data: { user_id: 10_000 + i, name: `m${i}` } })), { type: 'text', data: { text: ' mention flood' } }]);
    await h.sim.control('/inject', { group: GROUP, from: ALICE, text: 'after the hostile frames' });
    await waitFor(() => h.ircTexts().includes('after the hostile frames'), 'the message after them', 10_000);
    expect(h.qq.isConnected()).toBe(true);
    const lines = h.log.lines();
    expect(warns(lines, /Milky event frame skipped/).length).toBe(2); // segments a number; peer_id a string
    expect(warns(lines, /segments of unknown type/).length).toBe(1);
    expect(warns(lines, /too many segments/).length).toBe(1);
    expect(h.conditions.filter((c) => c === 'stream:reconnecting')).toEqual([]); // the stream never stalled on it
    const texts = h.ircTexts();
    expect(texts.some((t) => t.includes('beside an unknown segment'))).toBe(true);
    expect(texts.some((t) => t.endsWith('mention flood'))).toBe(true);
    // Frames arrive on one stream and are handled in order: everything before the last came first.
    expect(texts[texts.length - 1]).toBe('after the hostile frames');
  }, 30_000);

  it('CQ codes, "@全体成员" and segment JSON typed on IRC reach QQ as literal text segments only; a mention flood mentions nobody', async () => {
    const h = await start();
    const flood = Array.from({ length: 300 }, () => '@全体成员 [CQ:at,qq=all]').join(' ');
    for (const t of [...INJECTIONS, flood]) await h.irc.inject(IRC_ROOM, { text: t });
    await waitFor(async () => (await h.sim.sends()).length >= INJECTIONS.length + 1, 'every line sent', 20_000);
    const sends = await h.sim.sends();
    for (const s of sends) for (const seg of s.segments) expect(seg.type).toBe('text');
    expect(sends.map((s) => s.text)).toEqual([...INJECTIONS, flood].map((t) => `[alice] ${t}`));
    expect(await h.sim.control('/violations')).toEqual([]);
  }, 30_000);
});

describe('hostile segments, decoded directly', () => {
  const anyJson = fc.jsonValue({ maxDepth: 4 });
  it('OneBot: any JSON as a message, and any CQ string, decodes to parts or reasons — never an exception', () => {
    fc.assert(fc.property(anyJson, (v) => {
      const { segments, problems } = normalizeMessage(v);
      expect(Array.isArray(problems)).toBe(true);
      oneBotParts(segments);
    }), { numRuns: 300 });
    fc.assert(fc.property(fc.string({ maxLength: 200 }), (s) => {
      oneBotParts(parseCqString(s));
    }), { numRuns: 300 });
  });

  it('Milky: segments the schema let through decode to parts; outgoing text stays one text segment', () => {
    fc.assert(fc.property(fc.array(fc.record({ type: fc.constantFrom('text', 'mention', 'mention_all', 'face', 'reply', 'image', 'forward', 'light_app', 'xml'), data: fc.dictionary(fc.string({ maxLength: 8 }), fc.oneof(fc.string(), fc.integer())) }), { maxLength: 20 }), (segs) => {
      // Real frames are schema-checked before they get here; the decoder must still not throw on odd data.
      try {
        milkyParts(segs as never);
      } catch (e) {
        throw new Error(`decoder threw on ${JSON.stringify(segs)}: ${(e as Error).message}`);
      }
    }), { numRuns: 200 });
    fc.assert(fc.property(fc.string({ maxLength: 200 }), (t) => {
      const out = segmentsFromItems([{ type: 'text', text: t }]);
      expect(out.every((s) => s.type === 'text')).toBe(true);
    }), { numRuns: 200 });
  });
});
