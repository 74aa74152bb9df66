/**
 * Counterexamples the hostile-input properties found, kept as plain regression tests, plus a few
 * small properties of the last-line-of-defence helpers.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.js';
import { isSafeLine, renderIrcLinesSync, sanitizeLine } from '../../src/connectors/irc/format.js';
import { parseMatrixHtml, renderSegments, textContent } from '../../src/connectors/matrix/format.js';
import { entitiesToParts, escapeHtml, renderForTelegram } from '../../src/connectors/telegram/format.js';
import type { Capabilities } from '../../src/core/connector.js';
import { parsePollBody } from '../../src/connectors/qq/webqq/events.js';
import { degrade } from '../../src/core/degrade.js';
import { parseWorld } from '../../src/simulator/world.js';
import { ConfigError } from '../../src/core/errors.js';
import type { BridgeMessage, MentionPart, MessageKind, Part } from '../../src/core/message.js';

const msg = (parts: Part[], displayName = 'alice', kind: MessageKind = 'message'): BridgeMessage => ({
  id: 'qq:group:1:1', origin: { network: 'qq', room: 'group:1', sender: { id: '1', displayName } }, kind, parts, time: 0,
});

describe('config regressions', () => {
  it('a billion-laughs alias bomb is a ConfigError naming the cause (was a bare ReferenceError)', () => {
    const lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
    for (const c of 'bcdefg') lines.push(`${c}: &${c} [${Array(9).fill(`*${String.fromCharCode(c.charCodeAt(0) - 1)}`).join(',')}]`);
    expect(() => parseConfig(lines.join('\n'), 'bomb.yaml', {})).toThrow(/bomb\.yaml:1:1: YAML aliases refused/);
  });

  it('an alias inside its own anchor is a ConfigError (was a stack overflow)', () => {
    expect(() => parseConfig('a: &a [*a]', 'loop.yaml', {})).toThrow(ConfigError);
    expect(() => parseConfig('qq: &q {uin: 1, again: *q}', 'loop.yaml', {})).toThrow(/refers to its own anchor/);
  });

  it('a `__proto__` or `constructor` key is reported as unknown (was a TypeError in the schema walk)', () => {
    expect(() => parseConfig('__proto__: {polluted: 1}\nqq: {uin: 1}', 'p.yaml', {})).toThrow(/__proto__: unknown key/);
    expect(() => parseConfig('qq: {constructor: 1, uin: 1}', 'p.yaml', {})).toThrow(/qq\.constructor: unknown key/);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('poll2 and world regressions', () => {
  it('a retcode body whose `t` is an object with its own toString is still the retcode (was a TypeError)', () => {
    expect(parsePollBody('{"retcode":103,"t":{"toString":""}}')).toEqual({ kind: 'retcode', retcode: 103 });
    expect(parsePollBody('{"retcode":116,"p":"x","t":1700000000}')).toEqual({ kind: 'retcode', retcode: 116, p: 'x', t: '1700000000' });
  });

  it('a world with 20 000 broken accounts gives a short error (was 4 MB, 21 MB for 100 000)', () => {
    let error: Error | undefined;
    try {
      parseWorld({ accounts: Array.from({ length: 20_000 }, () => ({ qq: 1 })) }, 'big.yaml');
    } catch (e) {
      error = e as Error;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect(error!.message).toMatch(/… and \d+ more problems$/);
    expect(error!.message.length).toBeLessThan(3_000);
  });
});

describe('Telegram regressions', () => {
  it('an entity with a fractional or non-finite offset is skipped (was a TypeError)', () => {
    expect(entitiesToParts('hello', [{ type: 'bold', offset: 0.5, length: 3 } as never])).toEqual([{ type: 'text', text: 'hello' }]);
    expect(entitiesToParts('hello', [{ type: 'bold', offset: 1, length: Infinity } as never, { type: 'italic', offset: 0, length: 2 } as never])).toEqual([
      { type: 'text', text: 'he', style: { italic: true } },
      { type: 'text', text: 'llo' },
    ]);
  });

  it('a lone surrogate becomes U+FFFD instead of making Telegram refuse the message', () => {
    const [item] = renderForTelegram(msg([{ type: 'text', text: 'a\udfffb' }], 'x\ud800'));
    expect(item).toMatchObject({ type: 'text', html: '<b>x\ufffd</b>: a\ufffdb' });
  });

  it('a flood of @usernames: the first five may notify, the rest carry a zero-width space', () => {
    const text = Array.from({ length: 8 }, (_, i) => `@member${i}`).join(' ');
    const [item] = renderForTelegram(msg([{ type: 'text', text }]));
    expect(item?.type === 'text' && item.plain).toBe(`alice: @member0 @member1 @member2 @member3 @member4 @\u200Bmember5 @\u200Bmember6 @\u200Bmember7`);
  });

  it('escapeHtml output never carries a raw < > or a bare &', () => {
    fc.assert(fc.property(fc.string({ unit: fc.constantFrom('<', '>', '&', 'a', ';', '#', 'amp', 'lt') }), (s) => {
      const out = escapeHtml(s);
      expect(out).not.toMatch(/[<>]|&(?!(amp|lt|gt);)/);
    }), { numRuns: 300 });
  });
});

describe('Matrix regressions', () => {
  it('unclosed attribute lists and comments are parsed in linear time (were quadratic: 50 000 × "<a " took over a minute)', () => {
    for (const h of ['<a '.repeat(50_000), '<!--'.repeat(100_000), `x<!--${'y'.repeat(100_000)}`]) {
      const t0 = performance.now();
      parseMatrixHtml(h);
      expect(performance.now() - t0).toBeLessThan(1_000);
    }
    // Ordinary markup still parses the same.
    expect(parseMatrixHtml('a<!-- c -->b <b class="x">c</b> <a href="https://x.y/">l</a>')).toEqual([
      { type: 'text', text: 'ab ' }, { type: 'text', text: 'c', style: { bold: true } }, { type: 'text', text: ' ' }, { type: 'link', url: 'https://x.y/', text: 'l' },
    ]);
  });

  it('a pill with a malformed %-escape is kept as it is (was a URIError)', () => {
    expect(parseMatrixHtml('<a href="https://matrix.to/#/@%ZZ:b">x</a>')).toEqual([{ type: 'mention', userId: '@%ZZ:b', name: 'x' }]);
  });

  it('@room from a foreign network is defused in body and formatted_body, even inside a link', () => {
    const c = textContent([{ type: 'text', text: '@room wake up ', style: { bold: true } }, { type: 'mention', name: 'room' }, { type: 'link', url: 'https://x.y/@room', text: 'see' }], 'message', { senderPrefix: '@Room' });
    expect(c.body).toBe('@\u200BRoom: @\u200Broom wake up @\u200Broomsee (https://x.y/@\u200Broom)');
    expect(c.formatted_body).toBe('<strong>@\u200BRoom</strong>: <strong>@\u200Broom wake up </strong>@\u200Broom<a href="https://x.y/%40room">see</a>');
    expect(c['m.mentions']).toEqual({});
  });

  it('m.mentions lists at most five pilled users', () => {
    const parts: MentionPart[] = Array.from({ length: 9 }, (_, i) => ({ type: 'mention', userId: `@u${i % 7}:hs`, name: `u${i}` }));
    const c = textContent(parts, 'message', { pillFor: (p) => p.userId });
    expect(c['m.mentions']).toEqual({ user_ids: ['@u0:hs', '@u1:hs', '@u2:hs', '@u3:hs', '@u4:hs'] });
  });

  it('a 300 000-character message becomes several events under 60 000 bytes, the sender prefix on the first only', () => {
    const text = 'ab😀 '.repeat(75_000);
    const segs = renderSegments([{ type: 'text', text }], 'message', { senderPrefix: 'bob' });
    expect(segs.length).toBeGreaterThan(5);
    const bodies = segs.map((s) => (s.type === 'text' ? String(s.content.body) : ''));
    expect(bodies[0]!.startsWith('bob: ')).toBe(true);
    expect(bodies.slice(1).some((b) => b.startsWith('bob: '))).toBe(false);
    expect(bodies.join('')).toBe(`bob: ${text}`);
    for (const s of segs) if (s.type === 'text') expect(Buffer.byteLength(JSON.stringify(s.content))).toBeLessThanOrEqual(60_000);
  });
});

describe('IRC regressions and helpers', () => {
  it('a lone surrogate becomes U+FFFD in IRC lines', () => {
    const { lines } = renderIrcLinesSync(msg([{ type: 'text', text: '\ud800x' }]), { target: '#c' });
    expect(lines[0]).toMatch(/\ufffdx$/);
  });

  it('sanitizeLine makes any string a safe line', () => {
    fc.assert(fc.property(fc.string({ unit: fc.oneof(fc.integer({ min: 0, max: 0x7f }).map((c) => String.fromCharCode(c)), fc.constantFrom('\u0085', '\u2028')) }), (s) => {
      const line = sanitizeLine(s);
      expect(isSafeLine(line)).toBe(true);
      expect(line).not.toMatch(/[\r\n\0]/);
    }), { numRuns: 500 });
  });
});

describe('degrade', () => {
  it('never throws, leaves only kinds the target shows, and turns pictures into text for link-only targets', () => {
    const part: fc.Arbitrary<Part> = fc.oneof(
      fc.record({ type: fc.constant('text' as const), text: fc.string(), style: fc.record({ bold: fc.boolean() }) }, { requiredKeys: ['type', 'text'] }),
      fc.record({ type: fc.constant('image' as const), url: fc.webUrl(), mediaId: fc.string(), name: fc.string() }, { requiredKeys: ['type'] }),
      fc.record({ type: fc.constant('mention' as const), name: fc.string() }),
    );
    const caps = fc.record({
      formatting: fc.boolean(), images: fc.constantFrom('upload' as const, 'link' as const), replies: fc.boolean(), edits: fc.boolean(),
      kinds: fc.subarray(['message', 'action', 'notice', 'join', 'leave', 'rename', 'topic'] as MessageKind[]),
      rateLimit: fc.constant({ perSecond: 1, burst: 1 }),
    });
    fc.assert(fc.property(fc.array(part, { maxLength: 6 }), caps, fc.constantFrom<MessageKind>('message', 'action', 'notice', 'join', 'leave', 'rename', 'topic'), fc.option(fc.string()), fc.option(fc.string()), (parts, c, kind, replyTo, editOf) => {
      const m: BridgeMessage = { ...msg(parts, 'x', kind), ...(replyTo !== null ? { replyTo } : {}), ...(editOf !== null ? { editOf } : {}) };
      const out = degrade(m, c as Capabilities, { mediaUrl: (id) => `http://m/${id}`, replyQuote: { nick: 'n', text: 'q' } });
      if (c.kinds.length && !c.kinds.includes(out.kind)) expect(['message', 'notice']).toContain(out.kind);
      if (c.images === 'link') expect(out.parts.some((p) => p.type === 'image')).toBe(false);
      if (!c.formatting) expect(out.parts.some((p) => p.type === 'text' && p.style)).toBe(false);
      if (!c.replies) expect(out.replyTo).toBeUndefined();
      if (!c.edits) expect(out.editOf).toBeUndefined();
    }), { numRuns: 100 });
  });
});
