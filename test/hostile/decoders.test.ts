/**
 * Hostile input for every decoder: whatever arrives (random JSON, truncated bodies, wrong types,
 * huge or deeply nested arrays, control characters, malformed markup), a decoder answers with a
 * result or its own clear error, never an unexpected exception, and in bounded time.
 */
import fc from 'fast-check';
import { stringify as toYaml } from 'yaml';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.js';
import { parseIrcFormatting, parseIrcMessage } from '../../src/connectors/irc/format.js';
import { parseMatrixContent, parseMatrixHtml } from '../../src/connectors/matrix/format.js';
import { partsFromQq } from '../../src/connectors/qq/format.js';
import { parseContent } from '../../src/connectors/qq/webqq/content.js';
import { MAX_EVENTS_PER_BATCH, parsePollBody, type QqEvent } from '../../src/connectors/qq/webqq/events.js';
import { parseAuthCB, parseCheckVC, parseLoginPage, parsePtuiCB, PtloginParseError } from '../../src/connectors/qq/webqq/ptlogin.js';
import { entitiesToParts } from '../../src/connectors/telegram/format.js';
import { ConfigError } from '../../src/core/errors.js';
import type { Part } from '../../src/core/message.js';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadWorld, parseWorld } from '../../src/simulator/world.js';

const RUNS = { numRuns: 300 };

/** Strings rich in what breaks parsers: controls, quotes, brackets, surrogates, entities. */
const nasty = fc.string({
  unit: fc.oneof(
    fc.constantFrom('\0', '\r', '\n', '\x01', '\x02', '\x03', '\x1d', '\x0f', '\\', "'", '"', '<', '>', '&', '&amp;', '&#0;', '&#xd800;', '(', ')', ',', ';', '[', ']', '{', '}', ':', '@', '\ud800', '\udc00', '😀', '宋体', ' ', '\u2028'),
    fc.string({ maxLength: 1, unit: 'grapheme' }),
  ),
  maxLength: 60,
});

/** Runs `fn` and checks it took less than `ms` (a bound, not a benchmark: generous on purpose). */
function timed<T>(ms: number, fn: () => T): T {
  const t0 = performance.now();
  const r = fn();
  expect(performance.now() - t0).toBeLessThan(ms);
  return r;
}

// ------------------------------------------------------------------------------------------ poll2

const FONT = ['font', { name: '宋体', size: 10, style: [0, 0, 0], color: '000000' }];
const groupEvent = (msgId: number, text: string) => ({
  poll_type: 'group_message',
  value: { msg_id: msgId, from_uin: 2559225925, to_uin: 2769546520, group_code: 3483368056, send_uin: 2440652742, seq: 1, time: 1400000000 + msgId, content: [FONT, text] },
});
const buddyEvent = (msgId: number, text: string) => ({
  poll_type: 'message',
  value: { msg_id: msgId, from_uin: 2440652742, to_uin: 2769546520, time: 1400000000 + msgId, content: [FONT, text] },
});

function expectPollShape(r: ReturnType<typeof parsePollBody>): void {
  expect(['events', 'retcode', 'malformed']).toContain(r.kind);
  if (r.kind === 'malformed') expect(r.reason.length).toBeGreaterThan(0);
  if (r.kind === 'events') {
    expect(r.events.length).toBeLessThanOrEqual(MAX_EVENTS_PER_BATCH);
    expect(r.warnings.length).toBeLessThanOrEqual(50);
  }
}

function msgIds(r: ReturnType<typeof parsePollBody>): number[] {
  return r.kind === 'events' ? r.events.map((e: QqEvent) => e.msgId) : [];
}

describe('poll2 bodies', () => {
  it('random text and random JSON never throw', () => {
    fc.assert(fc.property(fc.oneof(nasty, fc.string()), (s) => expectPollShape(parsePollBody(s))), RUNS);
    fc.assert(fc.property(fc.jsonValue(), (v) => {
      expectPollShape(parsePollBody(v));
      expectPollShape(parsePollBody(JSON.stringify(v) ?? ''));
    }), RUNS);
    fc.assert(fc.property(fc.anything({ withObjectString: true, withNullPrototype: true, withBigInt: true, withDate: true, withMap: true, withSet: true, withTypedArray: true, withSparseArray: true }), (v) => {
      expectPollShape(parsePollBody(v));
      expectPollShape(parsePollBody({ retcode: 0, result: [v, { poll_type: 'message', value: v }, { poll_type: 'group_message', value: { msg_id: 1, from_uin: 1, send_uin: 1, content: v } }] }));
    }), RUNS);
  });

  it('a truncated valid body is malformed, never an exception', () => {
    const valid = JSON.stringify({ retcode: 0, result: [groupEvent(1, 'hello <world> &amp; 你好'), buddyEvent(2, 'x')] });
    fc.assert(fc.property(fc.integer({ min: 0, max: valid.length - 1 }), (cut) => {
      const r = parsePollBody(valid.slice(0, cut));
      expect(r.kind).toBe('malformed');
    }), { numRuns: 200 });
  });

  it('wrong types in any field of an event: the events around it in the batch are still delivered', () => {
    const fields = ['msg_id', 'from_uin', 'to_uin', 'send_uin', 'group_code', 'time', 'seq', 'content', 'info_seq', 'did'];
    const hostileValue = fc.oneof(fc.anything(), fc.constantFrom(NaN, Infinity, -1, 1e400, '1e9', '', '  12 ', [], {}, null, true, '99999999999999999999999'));
    fc.assert(fc.property(fc.constantFrom('group_message', 'message', 'discu_message', 'sess_message', 'kick_message', 'sys_g_msg', 'buddies_status_change'), fc.subarray(fields, { minLength: 1 }), fc.array(hostileValue, { minLength: 10, maxLength: 10 }), (pollType, which, values) => {
      const value: Record<string, unknown> = { ...groupEvent(50, 'mid').value, did: 7, uin: 3 };
      which.forEach((f, i) => (value[f] = values[i]));
      const batch = [groupEvent(1, 'before'), { poll_type: pollType, value }, buddyEvent(2, 'after')];
      const r = parsePollBody(JSON.stringify({ retcode: 0, result: batch }));
      expect(r.kind).toBe('events');
      expect(msgIds(r)).toEqual(expect.arrayContaining([1, 2]));
      // Also as an already-parsed body, where values JSON cannot carry (NaN, undefined) survive.
      const r2 = parsePollBody({ retcode: 0, result: batch });
      expect(msgIds(r2)).toEqual(expect.arrayContaining([1, 2]));
    }), RUNS);
  });

  it('malformed elements of every kind between valid ones: the valid ones arrive, each malformed one is a warning', () => {
    const junk = fc.oneof(fc.anything(), fc.record({ poll_type: fc.anything(), value: fc.anything() }), fc.record({ poll_type: fc.constantFrom('group_message', 'message', 'xyz'), value: fc.dictionary(fc.string(), fc.anything()) }));
    fc.assert(fc.property(fc.array(junk, { maxLength: 8 }), fc.array(junk, { maxLength: 8 }), (a, b) => {
      const r = parsePollBody({ retcode: 0, result: [...a, groupEvent(1001, 'one'), ...b, buddyEvent(1002, 'two')] });
      expect(r.kind).toBe('events');
      expect(msgIds(r)).toEqual(expect.arrayContaining([1001, 1002]));
    }), RUNS);
  });

  it('a 100 000-element batch is capped and counted, in bounded time and memory', () => {
    const result = Array.from({ length: 100_000 }, (_, i) => groupEvent(i + 1, 'flood'));
    const r = timed(5_000, () => parsePollBody(JSON.stringify({ retcode: 0, result })));
    if (r.kind !== 'events') throw new Error(r.kind);
    expect(r.events).toHaveLength(MAX_EVENTS_PER_BATCH);
    expect(r.skipped).toBe(100_000 - MAX_EVENTS_PER_BATCH);
    expect(r.warnings.some((w) => /truncated/.test(w.reason))).toBe(true);
  });

  it('100 000 junk elements: warnings stay bounded', () => {
    const r = timed(3_000, () => parsePollBody({ retcode: 0, result: Array.from({ length: 100_000 }, (_, i) => (i % 2 ? 42 : { poll_type: 'nope', value: {} })) }));
    if (r.kind !== 'events') throw new Error(r.kind);
    expect(r.warnings.length).toBeLessThanOrEqual(50);
    expect(r.skipped).toBe(100_000);
  });

  it('100 000-deep nesting in result and in content, and a 100 000-element content array', () => {
    const deep = '['.repeat(100_000) + ']'.repeat(100_000);
    for (const body of [
      `{"retcode":0,"result":${deep}}`,
      `{"retcode":0,"result":[${deep},${JSON.stringify(buddyEvent(9, 'still here'))}]}`,
      `{"retcode":0,"result":[{"poll_type":"message","value":{"msg_id":1,"from_uin":2,"content":${deep}}}]}`,
      `{"retcode":0,"result":[{"poll_type":"message","value":{"msg_id":1,"from_uin":2,"content":[${'"a",'.repeat(100_000)}"b"]}}]}`,
    ]) {
      const r = timed(3_000, () => parsePollBody(body));
      expectPollShape(r);
    }
    expect(msgIds(parsePollBody(`{"retcode":0,"result":[${deep},${JSON.stringify(buddyEvent(9, 'still here'))}]}`))).toEqual([9]);
  });

  it('a non-zero retcode with hostile extra fields is still the retcode', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 200 }), fc.anything(), fc.anything(), (retcode, p, t) => {
      const r = parsePollBody({ retcode, p, t, errmsg: p, result: t });
      expect(r).toMatchObject({ kind: 'retcode', retcode });
    }), RUNS);
  });
});

// ------------------------------------------------------------------------------------ QQ content

describe('QQ content arrays', () => {
  const element = fc.oneof(
    nasty,
    fc.tuple(fc.constantFrom('font', 'face', 'cface', 'offpic', 'unknown', ''), fc.anything(), fc.anything()),
    fc.tuple(fc.constant('font'), fc.record({ name: fc.anything(), size: fc.anything(), style: fc.anything(), color: fc.anything() })),
    fc.anything(),
  );
  it('parseContent and partsFromQq never throw; text comes out without raw CR', () => {
    fc.assert(fc.property(fc.oneof(fc.array(element, { maxLength: 20 }), fc.anything()), (raw) => {
      const parsed = parseContent(raw);
      expect(parsed.items.length).toBeLessThanOrEqual(5000);
      const parts = partsFromQq(parsed);
      for (const p of parts) if (p.type === 'text') expect(p.text).not.toMatch(/\r/);
      if (parsed.font) expect(parsed.font.color).toMatch(/^[0-9a-f]{6}$/);
    }), RUNS);
  });

  it('text elements survive: every string element of the array is in the parsed text (entities decoded)', () => {
    fc.assert(fc.property(fc.array(fc.string({ minLength: 1, maxLength: 20 }).filter((s) => !s.includes('&')), { minLength: 1, maxLength: 6 }), (texts) => {
      const parsed = parseContent([FONT, ...texts.flatMap((t) => [t, ['face', 14]])]);
      const joined = parsed.items.map((i) => (i.type === 'text' ? i.text : '')).join('');
      expect(joined).toBe(texts.join(''));
    }), RUNS);
  });

  it('a 100 000-element content array is bounded', () => {
    const parsed = timed(2_000, () => parseContent(Array.from({ length: 100_000 }, (_, i) => (i % 2 ? ['face', 1] : 'x'))));
    expect(parsed.items.length).toBeLessThanOrEqual(5000);
    expect(parsed.unknown).toBe(95_000);
  });
});

// -------------------------------------------------------------------------------------- ptlogin

describe('ptlogin callbacks', () => {
  const call = (fn: string) =>
    fc.tuple(fc.array(nasty, { maxLength: 8 }), fc.boolean(), fc.boolean()).map(([args, close, quote]) =>
      `${fn}(${args.map((a) => (quote ? `'${a}'` : a)).join(',')}${close ? ');' : ''}`);
  const only = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      expect(e).toBeInstanceOf(PtloginParseError);
      // Bounded: the error quotes at most 200 characters of the answer (JSON-escaped).
      expect((e as Error).message.length).toBeLessThan(1_400);
    }
  };
  it('parseCheckVC, parsePtuiCB, parseAuthCB answer or throw PtloginParseError, never anything else', () => {
    fc.assert(fc.property(fc.oneof(nasty, call('ptui_checkVC'), call('ptuiCB'), call('ptui_auth_CB')), (text) => {
      only(() => parseCheckVC(text));
      only(() => parsePtuiCB(text));
      only(() => parseAuthCB(text));
      const page = parseLoginPage(text);
      expect(typeof page).toBe('object');
    }), { numRuns: 500 });
  });

  it('megabyte-sized hostile callbacks are parsed in bounded time (no regex blow-up)', () => {
    const big = [
      `ptuiCB('${"\\'".repeat(200_000)}`,
      `ptuiCB(${"'a',".repeat(100_000)}`,
      `ptui_checkVC('${'\\\\'.repeat(200_000)}x`,
      `ptuiCB('0','0','${'a'.repeat(500_000)}','0','ok', 'nick');`,
      `var g_login_sig=encodeURIComponent("${'x'.repeat(500_000)}`,
    ];
    for (const t of big) {
      timed(2_000, () => {
        only(() => parsePtuiCB(t));
        only(() => parseCheckVC(t));
        parseLoginPage(t);
      });
    }
  });

  it('a valid callback inside noise is still read', () => {
    fc.assert(fc.property(fc.string({ unit: fc.constantFrom('a', '1', '.', '-', '_', ' ', 'é') }), (nick) => {
      const r = parsePtuiCB(`/* noise */ ptuiCB('0','0','https://ptlogin4.web2.qq.com/check_sig?x=1','0','登录成功！', '${nick}');`);
      expect(r).toMatchObject({ code: '0', nick });
    }), RUNS);
  });
});

// ------------------------------------------------------------------------------------------- IRC

describe('IRC lines and formatting codes', () => {
  const ircText = fc.string({ unit: fc.oneof(fc.constantFrom('\x02', '\x03', '\x04', '\x0f', '\x16', '\x1d', '\x1f', '\x1e', '\x11', '\x01', ',', '1', '12', 'ff00aa', '\0', '\t', 'http://a.b/(x)', ' '), fc.string({ maxLength: 1, unit: 'grapheme' })), maxLength: 80 });
  it('parseIrcMessage never throws and its parts carry no control character', () => {
    fc.assert(fc.property(ircText, (text) => {
      const parsed = parseIrcMessage(text);
      if (!parsed) return;
      for (const p of parsed.parts) {
        if (p.type === 'text') {
          // eslint-disable-next-line no-control-regex
          expect(p.text).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f]/);
          if (p.style?.color) expect(p.style.color).toMatch(/^[0-9a-f]{6}$/);
        }
        if (p.type === 'link') expect(p.url).toMatch(/^(https?|ftp):\/\//i);
      }
    }), { numRuns: 500 });
  });

  it('parseIrcFormatting keeps every printable character, in order', () => {
    fc.assert(fc.property(ircText, (text) => {
      const out = parseIrcFormatting(text).map((r) => r.text).join('');
      // The parser consumes digits/commas only right after \x03 / hex right after \x04, in one
      // left-to-right scan: the reference strips both codes and their arguments in one pass too
      // (two passes would let "\x04\x03ff00aa" turn into "\x04ff00aa" and eat the text).
      const reference = text
        .replace(/\x03(\d{1,2}(,\d{1,2})?)?|\x04([0-9a-fA-F]{6}(,[0-9a-fA-F]{6})?)?/g, '')
        .replace(/\t/g, ' ')
        // eslint-disable-next-line no-control-regex
        .replace(/[\x00-\x1f\x7f]/g, '');
      expect(out).toBe(reference);
    }), { numRuns: 500, examples: [['\x04\x03ff00aa']] });
  });

  it('a 64 KB line of codes (far over the 8 KB IRCv3 maximum) is parsed in bounded time', () => {
    timed(1_500, () => parseIrcMessage('\x03'.repeat(20_000) + '\x02,'.repeat(10_000) + 'http://'.repeat(2_000) + '\x0312,'.repeat(2_000)));
  });
});

// -------------------------------------------------------------------------------------- Telegram

describe('Telegram entities', () => {
  const types = ['bold', 'italic', 'underline', 'url', 'text_link', 'mention', 'code', 'pre', 'spoiler', 'strikethrough', 'custom_emoji', 'weird'];
  const entity = (n: number) => fc.record({
    type: fc.constantFrom(...types),
    offset: fc.oneof(fc.integer({ min: -5, max: n + 5 }), fc.constantFrom(NaN, Infinity, -Infinity, 0.5, 1e12)),
    length: fc.oneof(fc.integer({ min: -5, max: n + 10 }), fc.constantFrom(NaN, Infinity, 2.5, 1e12)),
    url: fc.oneof(fc.webUrl(), fc.constantFrom('javascript:alert(1)', '', 'tg://user?id=1')),
  });
  const textOf = (parts: Part[]) => parts.map((p) => (p.type === 'text' ? p.text : p.type === 'link' ? p.text ?? p.url : '')).join('');

  it('overlapping and out-of-range entities never throw and lose no text', () => {
    fc.assert(fc.property(fc.string({ maxLength: 40, unit: fc.oneof(fc.constantFrom('😀', '\ud83d', 'a', ' ', '<', '&'), fc.string({ maxLength: 1, unit: 'grapheme' })) }).chain((text) => fc.tuple(fc.constant(text), fc.array(entity(text.length), { maxLength: 12 }))), ([text, entities]) => {
      const parts = entitiesToParts(text, entities as never);
      expect(textOf(parts)).toBe(text);
    }), { numRuns: 150 });
  });

  it('an entity flood over a 4096-unit text is bounded', () => {
    const text = 'x'.repeat(4096);
    const entities = Array.from({ length: 10_000 }, (_, i) => ({ type: i % 2 ? 'bold' : 'url', offset: i % 4096, length: 4096 }));
    timed(3_000, () => entitiesToParts(text, entities as never));
  });
});

// ---------------------------------------------------------------------------------------- Matrix

describe('Matrix HTML and content', () => {
  const tag = fc.constantFrom('b', 'strong', 'i', 'em', 'u', 'a', 'script', 'style', 'mx-reply', 'p', 'br', 'img', 'li', 'div', 'iframe', 'svg', 'font', 'x-y');
  const attr = fc.tuple(fc.constantFrom('href', 'onclick', 'src', 'alt', 'style', 'HREF', 'data-mx-color'), fc.constantFrom('javascript:alert(1)', 'JaVaScRiPt:x', 'https://matrix.to/#/@a:b', 'https://matrix.to/#/%ZZ', 'https://matrix.to/#/@%ZZ:b', 'https://matrix.to/#/@a%E0%A4%A:b', 'mailto:x@y', 'data:text/html,<b>', '"', "'", '&amp;', ''));
  const piece = fc.oneof(
    fc.tuple(tag, fc.array(attr, { maxLength: 3 }), fc.constantFrom('"', "'", '', ' ')).map(([t, as, q]) => `<${t}${as.map(([k, v]) => ` ${k}=${q}${v}${q}`).join('')}>`),
    tag.map((t) => `</${t}>`),
    nasty,
    fc.constantFrom('<!--', '-->', '<', '>', '</', '<a href=', '&#x110000;', '&#0;', '&#xD800;'),
  );
  const html = fc.array(piece, { maxLength: 30 }).map((a) => a.join(''));

  it('parseMatrixHtml never throws; links keep only http(s)/mailto, pills only matrix.to', () => {
    fc.assert(fc.property(html, (h) => {
      const parts = parseMatrixHtml(h);
      for (const p of parts) {
        if (p.type === 'link') expect(p.url).toMatch(/^(https?|mailto):/i);
      }
    }), { numRuns: 500 });
  });

  it('deeply nested and unclosed markup is bounded', () => {
    for (const h of ['<b>'.repeat(100_000), '<a href="x">'.repeat(50_000), '<script>'.repeat(50_000) + 'x', '<'.repeat(200_000), '<a '.repeat(50_000), '<!--'.repeat(100_000), `<a x='`.repeat(50_000), '<a x="'.repeat(50_000), '<a x=y'.repeat(50_000), '&#'.repeat(100_000), '&' + 'a'.repeat(200_000), '<a\t\n'.repeat(50_000)]) {
      timed(3_000, () => parseMatrixHtml(h));
    }
  });

  it('parseMatrixContent never throws on hostile content', () => {
    fc.assert(fc.property(fc.dictionary(fc.constantFrom('msgtype', 'body', 'format', 'formatted_body', 'url', 'info', 'm.relates_to', 'm.new_content', 'filename'), fc.oneof(fc.anything(), fc.constantFrom('m.text', 'm.image', 'm.file', 'org.matrix.custom.html', 'mxc://a/b'))), (content) => {
      parseMatrixContent(content);
      parseMatrixContent({ msgtype: 'm.text', body: 'x', 'm.new_content': content, 'm.relates_to': { rel_type: 'm.replace', event_id: '$e' } });
    }), RUNS);
  });
});

// ----------------------------------------------------------------------------- config and world

function onlyConfigError(f: () => unknown): void {
  try {
    f();
  } catch (e) {
    if (!(e instanceof ConfigError)) throw new Error(`expected a ConfigError, got ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`);
    expect((e as Error).message).toMatch(/\S/);
  }
}

describe('config YAML', () => {
  const key = fc.oneof(fc.constantFrom('qq', 'irc', 'matrix', 'telegram', 'store', 'media', 'mappings', 'log', 'stateDir', '__proto__', 'constructor', 'toString', 'hasOwnProperty', 'uin', 'password', 'level', 'group', '<<'), fc.string({ maxLength: 8 }));
  const value = fc.letrec((tie) => ({
    v: fc.oneof({ depthSize: 'small' }, fc.jsonValue({ maxDepth: 1 }), fc.constantFrom('${HOME}', '${', '$${X}', '${A:-1}', '${NOPE_NOT_SET}', -1, 1e300, '0x10', 'yes'), fc.dictionary(key, tie('v'), { maxKeys: 4 }), fc.array(tie('v'), { maxLength: 3 })),
  })).v;

  it('random keys and values: a Config or a ConfigError, never another exception', () => {
    fc.assert(fc.property(fc.dictionary(key, value, { maxKeys: 6 }), (doc) => {
      onlyConfigError(() => parseConfig(toYaml(doc), 'fuzz.yaml', {}));
    }), { numRuns: 200 });
  });

  it('random text: a Config or a ConfigError', () => {
    fc.assert(fc.property(fc.string({ unit: fc.constantFrom('a', ':', ' ', '\n', '-', '&', '*', '!', '[', ']', '{', '}', '"', "'", '#', '|', '>', '%', '@', '`', '\t', '<<', '${', '}', '?') , maxLength: 80 }), (text) => {
      onlyConfigError(() => parseConfig(text, 'fuzz.yaml', {}));
    }), { numRuns: 500 });
  });

  it('alias bombs, self-referencing anchors and deep nesting are refused with a ConfigError, quickly', () => {
    const laughs = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
    for (const c of 'bcdefghi') laughs.push(`${c}: &${c} [${Array(9).fill(`*${String.fromCharCode(c.charCodeAt(0) - 1)}`).join(',')}]`);
    for (const text of [
      laughs.join('\n'),
      'a: &a [*a]',
      'qq: &q {uin: 1, x: *q}',
      'mappings: &m [*m]',
      'a: ' + '['.repeat(5_000) + ']'.repeat(5_000),
      'a: ' + '{a: '.repeat(3_000) + '1' + '}'.repeat(3_000),
      Array.from({ length: 2_000 }, (_, i) => `${' '.repeat(i)}k:`).join('\n'),
    ]) {
      timed(5_000, () => expect(() => parseConfig(text, 'bomb.yaml', {})).toThrow(ConfigError));
    }
  });
});

describe('world files', () => {
  it('parseWorld answers a World or a ConfigError', () => {
    const qq = fc.oneof(fc.integer({ min: 9_000, max: 2 ** 33 }), fc.anything());
    const world = fc.record({
      accounts: fc.oneof(fc.array(fc.record({ qq, password: fc.anything(), nick: fc.string() }), { maxLength: 3 }), fc.anything()),
      users: fc.oneof(fc.array(fc.record({ qq, nick: fc.string() }), { maxLength: 3 }), fc.anything()),
      friends: fc.oneof(fc.dictionary(fc.oneof(fc.constantFrom('__proto__', 'constructor'), fc.string()), fc.array(qq)), fc.anything()),
      groups: fc.oneof(fc.array(fc.record({ number: qq, name: fc.string(), owner: qq, members: fc.array(fc.record({ qq })) }), { maxLength: 2 }), fc.anything()),
      discussions: fc.anything(),
    }, { requiredKeys: [] });
    fc.assert(fc.property(fc.oneof(world, fc.anything()), (w) => onlyConfigError(() => parseWorld(w, 'fuzz-world.yaml'))), RUNS);
  });

  it('world files with alias bombs, self-referencing anchors, bad YAML or JSON are a ConfigError naming the file', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qqbridge-hostile-world-'));
    try {
      const laughs = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
      for (const c of 'bcdefgh') laughs.push(`${c}: &${c} [${Array(9).fill(`*${String.fromCharCode(c.charCodeAt(0) - 1)}`).join(',')}]`);
      const files: Record<string, string> = {
        'bomb.yaml': laughs.join('\n'),
        'loop.yaml': 'accounts: &a [*a]',
        'loop2.yaml': 'accounts: [&x {qq: 10001, password: p, nick: n, face: *x}]',
        'deep.yaml': `accounts: ${'['.repeat(5_000)}${']'.repeat(5_000)}`,
        'bad.yaml': 'accounts: [\n  - :',
        'bad.json': '{"accounts": [',
        'proto.json': '{"__proto__": {"x": 1}, "accounts": []}',
        'huge.json': JSON.stringify({ accounts: Array.from({ length: 20_000 }, () => ({ qq: 1 })) }),
      };
      for (const [name, text] of Object.entries(files)) {
        const file = path.join(dir, name);
        fs.writeFileSync(file, text);
        const t0 = performance.now();
        let error: unknown;
        try {
          loadWorld(file);
        } catch (e) {
          error = e;
        }
        expect(performance.now() - t0, name).toBeLessThan(5_000);
        expect(error, name).toBeInstanceOf(ConfigError);
        expect((error as Error).message).toContain(name);
        expect((error as Error).message.length, name).toBeLessThan(5_000);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
