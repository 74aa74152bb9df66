/**
 * Hostile input for every encoder: whatever the parts, nick or kind, the output each network
 * receives is well-formed for it (no line breaks into IRC, strict Telegram HTML, allow-listed
 * Matrix HTML, QQ pieces within 720 bytes that lose nothing), mass mentions are defused and
 * oversized messages are split or cut with a pointer.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isSafeLine, renderIrcLines, renderIrcLinesSync, ZWSP } from '../../src/connectors/irc/format.js';
import { renderSegments, textContent } from '../../src/connectors/matrix/format.js';
import { renderForQq } from '../../src/connectors/qq/format.js';
import { encodeContent, splitContent, type OutgoingItem } from '../../src/connectors/qq/webqq/content.js';
import { renderForTelegram, TELEGRAM_TEXT_LIMIT } from '../../src/connectors/telegram/format.js';
import { degrade } from '../../src/core/degrade.js';
import type { BridgeMessage, MentionPart, MessageKind, Part } from '../../src/core/message.js';

const RUNS = { numRuns: 250 };

const hostileChar = fc.oneof(
  { weight: 3, arbitrary: fc.string({ maxLength: 1, unit: 'grapheme' }) },
  { weight: 2, arbitrary: fc.constantFrom('\r', '\n', '\r\n', '\0', '\x01', '\x02', '\x03', '\x0f', '\x1d', '\x7f', '\u0085', '\u2028', '\u2029', '\t', '\ud800', '\udfff', '😀', '<', '>', '&', '"', "'", '\\', ' ', '@', '宋体', 'javascript:', '<script>', 'onerror=', '&amp;', '&#x3c;') },
);
const hostileText = (max = 40) => fc.string({ unit: hostileChar, maxLength: max });
const massWord = fc.constantFrom('@all', '@everyone', '@room', '@here', '@channel', '@全体成员', '@所有人', '@ROOM', '@Everyone');

const style = fc.record({ bold: fc.boolean(), italic: fc.boolean(), underline: fc.boolean(), color: fc.oneof(fc.constantFrom('ff0000', '00ff00', 'zzzzzz', '"><script>', '#fff'), fc.stringMatching(/^[0-9a-f]{6}$/)) }, { requiredKeys: [] });
const part: fc.Arbitrary<Part> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ type: fc.constant('text' as const), text: fc.oneof(hostileText(), massWord), style }, { requiredKeys: ['type', 'text'] }) },
  {
    weight: 1,
    arbitrary: fc.record({
      type: fc.constant('emoji' as const),
      text: hostileText(8),
      name: hostileText(8),
      // A QQ face id (real, unknown or negative), or another network's own id.
      native: fc.record({ network: fc.constantFrom('qq', 'matrix', 'qq"<'), id: fc.oneof(fc.integer({ min: -1, max: 300 }).map(String), hostileText(4)) }),
    }, { requiredKeys: ['type', 'text'] }),
  },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('image' as const), url: fc.oneof(fc.webUrl(), hostileText(20)), mediaId: fc.string(), name: hostileText(10) }, { requiredKeys: ['type'] }) },
  { weight: 2, arbitrary: fc.record({ type: fc.constant('mention' as const), name: fc.oneof(hostileText(12), fc.constantFrom('all', 'everyone', 'room', '全体成员', 'here')), userId: fc.oneof(fc.constantFrom('@evil:hs', '@x:y" onclick="a', '12345', '"><script>'), fc.string()) }, { requiredKeys: ['type', 'name'] }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('link' as const), url: fc.oneof(fc.webUrl(), fc.constantFrom('javascript:alert(1)', 'JAVASCRIPT:x', 'data:text/html,<script>', 'https://a.b/"onmouseover="x', 'https://a.b/<script>', 'https://a.b/@room'), hostileText(20)), text: hostileText(15) }, { requiredKeys: ['type', 'url'] }) },
);
const kind = fc.constantFrom<MessageKind>('message', 'action', 'notice', 'join', 'leave', 'rename', 'topic');
const message = (parts = fc.array(part, { maxLength: 12 })) =>
  fc.record({ parts, nick: fc.oneof(hostileText(40), fc.constantFrom('@room', '@everyone', '', ' ', ',x', 'alice')), kind }).map(({ parts: ps, nick, kind: k }): BridgeMessage => ({
    id: 'qq:group:1:1', origin: { network: 'qq', room: 'group:1', sender: { id: '2440652742', displayName: nick } }, kind: k, parts: ps, time: 0,
  }));
const msgOf = (parts: Part[], nick = 'alice', k: MessageKind = 'message'): BridgeMessage => ({
  id: 'qq:group:1:1', origin: { network: 'qq', room: 'group:1', sender: { id: '2440652742', displayName: nick } }, kind: k, parts, time: 0,
});

const bytes = (s: string) => Buffer.byteLength(s, 'utf8');

// ------------------------------------------------------------------------------------------- IRC

describe('IRC output', () => {
  const channel = fc.stringMatching(/^#[a-z0-9_-]{1,49}$/);

  it('no byte that ends or forges an IRC line, and every line fits 512 bytes with the command and the relay prefix', () => {
    fc.assert(fc.property(message(), channel, fc.integer({ min: 1, max: 8 }), fc.integer({ min: 0, max: 1000 }), (msg, target, maxLines, maxLineBytes) => {
      const { lines } = renderIrcLinesSync(msg, { target, maxLines, maxLineBytes });
      expect(lines.length).toBeLessThanOrEqual(maxLines);
      for (const line of lines) {
        expect(isSafeLine(line)).toBe(true);
        expect(line).not.toMatch(/[\r\n\0]/);
        // eslint-disable-next-line no-control-regex
        expect(line).not.toMatch(/[\x00\x01\x05-\x0e\x10\x12-\x1c\x7f]/);
        // What the server relays: `:nick!user@host PRIVMSG #chan :line\r\n`, host up to 98 bytes.
        expect(bytes(`:${'h'.repeat(98)} PRIVMSG ${target} :${line}\r\n`)).toBeLessThanOrEqual(512);
        // A lone surrogate would be sent as U+FFFD garbage and can split a line on some servers.
        expect(line.isWellFormed()).toBe(true);
      }
    }), { numRuns: 400 });
  });

  it('a message that fits loses no word', () => {
    const word = fc.stringMatching(/^[a-z0-9]{1,12}$/);
    fc.assert(fc.property(fc.array(word, { minLength: 1, maxLength: 60 }), (words) => {
      const { lines, hidden } = renderIrcLinesSync(msgOf([{ type: 'text', text: words.join(' ') }]), { target: '#c', maxLines: 50 });
      expect(hidden).toBe(0);
      // eslint-disable-next-line no-control-regex
      const shown = lines.map((l) => l.replace(/^\[[^\]]*\] /, '').replace(/\x03\d\d|[\x02\x0f\x1d\x1f]/g, '')).join(' ');
      expect(shown.replace(/\s+/g, ' ')).toBe(words.join(' '));
    }), RUNS);
  });

  it('mass mentions never reach IRC as a highlight: @all/@everyone/@room/@全体成员 get a zero-width space', () => {
    fc.assert(fc.property(fc.array(fc.oneof(massWord.map((w) => ({ type: 'text', text: ` ${w} ` }) as Part), fc.constantFrom('all', 'everyone', 'room', 'here', '全体成员').map((n) => ({ type: 'mention', name: n }) as Part)), { minLength: 1, maxLength: 30 }), (parts) => {
      const { lines } = renderIrcLinesSync(msgOf(parts), { target: '#c', maxLines: 100 });
      for (const l of lines) expect(l).not.toMatch(/@(all|everyone|room|here|channel|全体成员|所有人)(?![\p{L}\p{N}_])/iu);
    }), RUNS);
  });

  it('a flood of hundreds of mentions highlights at most maxMentions people', () => {
    const nicks = Array.from({ length: 300 }, (_, i) => `user${i}`);
    const parts: Part[] = nicks.map((n) => ({ type: 'mention', name: n }));
    const { lines } = renderIrcLinesSync(msgOf(parts), { target: '#c', maxLines: 1000, maxMentions: 5 });
    const text = lines.join(' ');
    const pinging = nicks.filter((n) => new RegExp(`(^|[^\\w${ZWSP}])${n}(?![\\w])`).test(text));
    expect(pinging.length).toBeLessThanOrEqual(5);
    // The same nicks typed as plain text: de-pinged once the channel's nicks are known.
    const typed = renderIrcLinesSync(msgOf([{ type: 'text', text: nicks.join(' ') }]), { target: '#c', maxLines: 1000, knownNicks: nicks });
    const typedText = typed.lines.join(' ');
    expect(nicks.filter((n) => new RegExp(`(^|[^\\w${ZWSP}])${n}(?![\\w])`).test(typedText)).length).toBe(0);
  });

  it('an oversized message is cut at maxLines with a link to the full text', async () => {
    const long = Array.from({ length: 400 }, (_, i) => `word${i}`).join(' ');
    let published = '';
    const lines = await renderIrcLines(msgOf([{ type: 'text', text: long }]), { target: '#c', maxLines: 4, overflow: async (t) => ((published = t), 'http://127.0.0.1:1/media/abc.txt') });
    expect(lines).toHaveLength(4);
    expect(lines[3]).toContain('full message: http://127.0.0.1:1/media/abc.txt');
    expect(published).toContain('word399');
    // Without a paste service: a count of what was cut.
    const sync = renderIrcLinesSync(msgOf([{ type: 'text', text: long }]), { target: '#c', maxLines: 4 });
    expect(sync.lines[3]).toMatch(/… \(\d+ more lines\)$/);
  });
});

// -------------------------------------------------------------------------------------- Telegram

/** A strict checker of the HTML this bridge may send: b/i/u/a only, balanced, entities only for < > & ". */
function strictTelegramHtml(html: string): string | undefined {
  const stack: string[] = [];
  const re = /<\/?([a-z]+)([^<>]*)>|&(lt|gt|amp|quot);|([<>&])/g;
  for (const m of html.matchAll(re)) {
    if (m[4]) return `raw ${m[4]} at ${m.index}`;
    if (m[3]) continue;
    const name = m[1]!;
    const closing = m[0][1] === '/';
    if (!['b', 'i', 'u', 'a'].includes(name)) return `tag ${name}`;
    if (closing) {
      if (m[2] !== '' || stack.pop() !== name) return `unbalanced </${name}> at ${m.index}`;
    } else {
      if (name === 'a' ? !/^ href="(https?|tg):\/\/[^"<>&]*(&(amp|lt|gt|quot);[^"<>&]*)*"$/i.test(m[2]!) : m[2] !== '') return `attributes ${m[2]}`;
      stack.push(name);
    }
  }
  if (stack.length) return `unclosed ${stack.join(',')}`;
  return undefined;
}

describe('Telegram output', () => {
  it('every chunk is strict, balanced HTML within 4096 units, and its plain fallback matches', () => {
    fc.assert(fc.property(message(), fc.constantFrom(TELEGRAM_TEXT_LIMIT, 64, 200), (msg, limit) => {
      for (const item of renderForTelegram(msg, limit)) {
        const html = item.type === 'text' ? item.html : item.captionHtml;
        expect(strictTelegramHtml(html)).toBeUndefined();
        expect(html.length).toBeLessThanOrEqual(limit);
        expect(html.isWellFormed()).toBe(true);
        // eslint-disable-next-line no-control-regex
        expect(html).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f]/);
      }
    }), { numRuns: 400 });
  });

  it('a long message is split into chunks that lose no character', () => {
    fc.assert(fc.property(fc.string({ unit: fc.constantFrom('a', ' ', '<', '&', '😀', '中', '>', '"'), minLength: 1, maxLength: 12_000 }).filter((t) => t.trim() !== ''), fc.boolean(), (text, bold) => {
      const items = renderForTelegram(msgOf([{ type: 'text', text, ...(bold ? { style: { bold: true } } : {}) }], 'bob'));
      const plain = items.map((i) => (i.type === 'text' ? i.plain : '')).join('');
      expect(plain).toBe(`bob: ${text}`);
      for (const i of items) if (i.type === 'text') expect(i.html.length).toBeLessThanOrEqual(TELEGRAM_TEXT_LIMIT);
    }), { numRuns: 60 });
  });

  it('a flood of mentions does not notify hundreds of Telegram users', () => {
    const users = Array.from({ length: 300 }, (_, i) => `member_${i}x`);
    for (const parts of [users.map((u) => ({ type: 'mention', name: u }) as Part), [{ type: 'text', text: users.map((u) => `@${u}`).join(' ') } as Part]]) {
      const plain = renderForTelegram(msgOf(parts)).map((i) => (i.type === 'text' ? i.plain : '')).join('');
      // Telegram turns `@username` (5–32 of [A-Za-z0-9_]) into a mention that notifies the user.
      const mentions = plain.match(/(?<![\w@])@[A-Za-z0-9_]{5,32}(?![\w])/g) ?? [];
      expect(mentions.length).toBeLessThanOrEqual(5);
    }
  });
});

// ---------------------------------------------------------------------------------------- Matrix

const MATRIX_TAGS = new Set(['strong', 'em', 'u', 'a', 'br', 'font']);

/** Allow-list checker for formatted_body: tags, attributes and URL schemes. */
function strictMatrixHtml(html: string): string | undefined {
  const stack: string[] = [];
  const re = /<(\/?)([a-z][a-z0-9-]*)((?:\s+[a-z-]+="[^"<>]*")*)\s*>|&(?:amp|lt|gt|quot|#39);|([<>&"])/gi;
  for (const m of html.matchAll(re)) {
    if (m[4]) return `raw ${m[4]} at ${m.index}`;
    if (!m[2]) continue;
    const name = m[2].toLowerCase();
    if (!MATRIX_TAGS.has(name)) return `tag ${name}`;
    if (m[1]) {
      if (stack.pop() !== name) return `unbalanced </${name}>`;
      continue;
    }
    for (const a of (m[3] ?? '').matchAll(/([a-z-]+)="([^"]*)"/gi)) {
      const [, k, v] = a as unknown as [string, string, string];
      if (name === 'a' && k === 'href') {
        if (!/^(https?|mxc|mailto):/i.test(v)) return `href ${v}`;
      } else if (name === 'font' && (k === 'color' || k === 'data-mx-color')) {
        if (!/^#[0-9a-f]{6}$/i.test(v)) return `colour ${v}`;
      } else return `attribute ${k} on ${name}`;
    }
    if (name !== 'br') stack.push(name);
  }
  if (stack.length) return `unclosed ${stack.join(',')}`;
  return undefined;
}

describe('Matrix output', () => {
  const pillFor = (p: { userId?: string; name: string }) => p.userId;

  it('formatted_body uses only allow-listed tags, attributes and URL schemes', () => {
    fc.assert(fc.property(message(), fc.oneof(fc.constant(undefined), hostileText(20)), (msg, senderPrefix) => {
      for (const seg of renderSegments(msg.parts, msg.kind, { pillFor, ...(senderPrefix !== undefined ? { senderPrefix } : {}) })) {
        if (seg.type !== 'text') continue;
        const fb = seg.content.formatted_body;
        if (fb === undefined) continue;
        expect(typeof fb).toBe('string');
        expect(strictMatrixHtml(fb as string)).toBeUndefined();
      }
    }), { numRuns: 400 });
  });

  it('@room never appears as a plain @room in body or formatted_body, and no event claims a room mention', () => {
    fc.assert(fc.property(message(fc.array(fc.oneof(part, massWord.map((w) => ({ type: 'text', text: w }) as Part), fc.constant({ type: 'mention', name: 'room' } as Part)), { maxLength: 10 })), fc.constantFrom(undefined, '@room', 'x'), (msg, senderPrefix) => {
      for (const seg of renderSegments(msg.parts, msg.kind, { pillFor, ...(senderPrefix ? { senderPrefix } : {}) })) {
        if (seg.type !== 'text') continue;
        const c = seg.content;
        expect(String(c.body)).not.toMatch(/@room(?![\w])/i);
        if (c.formatted_body !== undefined) expect(String(c.formatted_body)).not.toMatch(/@room(?![\w])/i);
        const mentions = c['m.mentions'] as { room?: boolean; user_ids?: string[] } | undefined;
        expect(mentions?.room).not.toBe(true);
      }
    }), { numRuns: 300 });
  });

  it('hundreds of mentions: the event carries m.mentions, so only a few pills can notify', () => {
    const parts: MentionPart[] = Array.from({ length: 300 }, (_, i) => ({ type: 'mention', userId: `@u${i}:hs`, name: `user ${i}` }));
    const c = textContent(parts, 'message', { pillFor });
    const mentions = c['m.mentions'] as { user_ids?: string[] } | undefined;
    // With m.mentions present, Matrix (spec v1.7+) no longer notifies on names found in the body.
    expect(mentions).toBeDefined();
    expect((mentions!.user_ids ?? []).length).toBeLessThanOrEqual(5);
  });

  it('an oversized message is split into events under the 64 KiB event limit, losing nothing', () => {
    const text = '<&"\'😀中a '.repeat(30_000);
    const segs = renderSegments([{ type: 'text', text, style: { bold: true } }], 'message', {});
    expect(segs.length).toBeGreaterThan(1);
    let body = '';
    for (const s of segs) {
      if (s.type !== 'text') throw new Error('unexpected image');
      expect(bytes(JSON.stringify(s.content))).toBeLessThanOrEqual(60_000);
      body += String(s.content.body);
    }
    expect(body).toBe(text);
  });
});

// -------------------------------------------------------------------------------------------- QQ

describe('QQ output', () => {
  const textOf = (items: readonly OutgoingItem[]) => items.map((i) => (i.type === 'text' ? i.text : '')).join('');

  it('each piece is at most 720 bytes, the font is last, and the pieces lose no text', () => {
    const item = fc.oneof(
      { weight: 4, arbitrary: fc.record({ type: fc.constant('text' as const), text: fc.string({ unit: hostileChar, maxLength: 900 }) }) },
      { weight: 1, arbitrary: fc.record({ type: fc.constant('face' as const), id: fc.integer({ min: 0, max: 200 }) }) },
      { weight: 1, arbitrary: fc.record({ type: fc.constant('cface' as const), name: fc.stringMatching(/^\{[0-9A-F-]{36}\}\.jpg$/) }) },
    );
    fc.assert(fc.property(fc.array(item, { maxLength: 8 }), (items) => {
      const pieces = splitContent(items, 720);
      for (const p of pieces) {
        const encoded = encodeContent(p);
        expect(bytes(encoded)).toBeLessThanOrEqual(720);
        const arr = JSON.parse(encoded) as unknown[];
        expect((arr[arr.length - 1] as unknown[])[0]).toBe('font');
        expect(arr.slice(0, -1).some((e) => Array.isArray(e) && e[0] === 'font')).toBe(false);
      }
      expect(textOf(pieces.flat())).toBe(textOf(items));
      expect(pieces.flat().filter((i) => i.type !== 'text')).toEqual(items.filter((i) => i.type !== 'text'));
    }), { numRuns: 300 });
  });

  it('a whole rendered message (hostile nick and parts) splits into valid pieces', () => {
    fc.assert(fc.property(message(), (msg) => {
      const degraded = degrade(msg, { formatting: false, images: 'upload', kinds: ['message', 'action', 'notice'], replies: false, edits: false, rateLimit: { perSecond: 1, burst: 1 } });
      const items = renderForQq(degraded).filter((i): i is OutgoingItem => i.type !== 'image');
      for (const p of splitContent(items)) expect(bytes(encodeContent(p))).toBeLessThanOrEqual(720);
      // The nick is one line: a nick cannot start a fake second message line.
      const first = items[0];
      if (first?.type === 'text' && degraded.kind !== 'notice') expect(first.text.split('\n')[0]).toMatch(/^(\[[^\n]*\] |\* )/);
    }), RUNS);
  });
});

describe('oversized input, every encoder', () => {
  it('a 1 MB message from a 100 000-character nick is rendered for every network in bounded time', () => {
    const text = 'lorem ipsum 你好 😀 <&> @everyone\n'.repeat(30_000);
    const msg = msgOf([{ type: 'text', text }], 'n'.repeat(100_000));
    const within = (ms: number, f: () => unknown) => {
      const t0 = performance.now();
      f();
      expect(performance.now() - t0).toBeLessThan(ms);
    };
    within(3_000, () => {
      const { lines, hidden } = renderIrcLinesSync(msg, { target: '#c', knownNicks: Array.from({ length: 5000 }, (_, i) => `n${i}`) });
      expect(lines).toHaveLength(5);
      expect(hidden).toBeGreaterThan(1000);
    });
    within(3_000, () => {
      const items = renderForTelegram(msg);
      expect(items.every((i) => i.type !== 'text' || i.html.length <= TELEGRAM_TEXT_LIMIT)).toBe(true);
    });
    within(3_000, () => {
      for (const s of renderSegments(msg.parts, 'message', { senderPrefix: 'x' })) if (s.type === 'text') expect(bytes(JSON.stringify(s.content))).toBeLessThanOrEqual(60_000);
    });
    within(3_000, () => {
      const pieces = splitContent(renderForQq(msg).filter((i): i is OutgoingItem => i.type !== 'image'));
      expect(pieces.every((p) => bytes(encodeContent(p)) <= 720)).toBe(true);
    });
  });
});
