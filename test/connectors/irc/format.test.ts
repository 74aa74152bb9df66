import { describe, expect, it } from 'vitest';
import type { BridgeMessage, MessageKind, Part } from '../../../src/core/message.js';
import {
  NICK_COLORS,
  ZWSP,
  antiPing,
  isSafeLine,
  lineBudget,
  nearestMircColor,
  nickColor,
  nickPrefix,
  parseIrcFormatting,
  parseIrcMessage,
  parseIrcText,
  renderIrcLines,
  renderIrcLinesSync,
  utf8Bytes,
} from '../../../src/connectors/irc/format.js';
import { facePart } from '../../../src/connectors/qq/faces.js';
import { renderForQq } from '../../../src/connectors/qq/format.js';

function msg(parts: Part[], kind: MessageKind = 'message', displayName = 'alice'): BridgeMessage {
  return {
    id: 'qq:group:1:42',
    origin: { network: 'qq', room: 'group:1', sender: { id: '10001', displayName } },
    kind,
    parts,
    time: 1_700_000_000_000,
  };
}
const text = (t: string): Part => ({ type: 'text', text: t });
const render = (m: BridgeMessage, o: Parameters<typeof renderIrcLinesSync>[1] = {}) =>
  renderIrcLinesSync(m, { target: '#qq', ...o }).lines;
const two = (n: number) => String(n).padStart(2, '0');
const prefixOf = (name: string) => `[\x03${two(nickColor(name))}${antiPing(name)}\x03] `;
/** Strips the `[nick] ` prefix a rendered line starts with. */
const body = (line: string, name = 'alice') => {
  expect(line.startsWith(prefixOf(name))).toBe(true);
  return line.slice(prefixOf(name).length);
};
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
/** The line as the server relays it to others: prefix, command, text, CRLF. */
const relayed = (line: string, target = '#qq') =>
  `:${'n'.repeat(30)}!~${'u'.repeat(10)}@${'h'.repeat(55)} PRIVMSG ${target} :${line}\r\n`;

describe('prefix and nick colour', () => {
  it('prefixes the coloured, de-pinged nick', () => {
    expect(render(msg([text('hello')]))).toEqual([`[\x03${two(nickColor('alice'))}a${ZWSP}lice\x03] hello`]);
  });

  it('gives a nick the same readable colour every time and spreads nicks over colours', () => {
    expect(nickColor('alice')).toBe(nickColor('alice'));
    const nicks = Array.from({ length: 60 }, (_, i) => `user${i}`);
    const colours = new Set(nicks.map(nickColor));
    for (const c of colours) expect(NICK_COLORS).toContain(c);
    expect(colours.size).toBeGreaterThanOrEqual(6);
    expect(nickColor('小明')).toBe(nickColor('小明'));
  });

  it('inserts the zero-width space after the first code point, not inside a surrogate pair', () => {
    expect(antiPing('bob')).toBe(`b${ZWSP}ob`);
    expect(antiPing('😀bob')).toBe(`😀${ZWSP}bob`);
    expect(antiPing('x')).toBe(`x${ZWSP}`);
    expect(LONE_SURROGATE.test(nickPrefix('😀bob'))).toBe(false);
  });

  it('keeps a leading comma in a nick from being read as a background colour', () => {
    const line = render(msg([text('hi')], 'message', ',5evil'))[0]!;
    expect(line).toContain(`\x03${two(nickColor(',5evil'))}\x02\x02,`);
    const parsed = parseIrcFormatting(line);
    expect(parsed.map((r) => r.text).join('')).toBe(`[,${ZWSP}5evil] hi`);
  });

  it('flattens a multi-line or control-laden display name into one short name', () => {
    const line = render(msg([text('hi')], 'message', 'mal\r\nlory\x00\x01'))[0]!;
    expect(line).toContain(`m${ZWSP}al lory`);
    expect(isSafeLine(line)).toBe(true);
    const long = render(msg([text('hi')], 'message', 'x'.repeat(100)))[0]!;
    expect(long).toContain('…');
    expect(utf8Bytes(long)).toBeLessThan(60);
  });
});

describe('styles', () => {
  it('maps bold, italic, underline and colour to mIRC codes and closes each run', () => {
    const [line] = render(
      msg([
        text('a '),
        { type: 'text', text: 'b', style: { bold: true } },
        { type: 'text', text: 'i', style: { italic: true } },
        { type: 'text', text: 'u', style: { underline: true } },
        { type: 'text', text: 'red', style: { color: 'ff0000' } },
        { type: 'text', text: 'all', style: { bold: true, italic: true, underline: true, color: '0000fc' } },
      ]),
    );
    expect(body(line!)).toBe('a \x02b\x0F\x1Di\x0F\x1Fu\x0F\x0304red\x0F\x02\x1D\x1F\x0312all\x0F');
  });

  it('picks the nearest of the 16 mIRC colours', () => {
    expect(nearestMircColor('ff0000')).toBe(4);
    expect(nearestMircColor('00ff00')).toBe(9);
    expect(nearestMircColor('fefefe')).toBe(0);
    expect(nearestMircColor('010101')).toBe(1);
    expect(nearestMircColor('808080')).toBe(14);
    expect(nearestMircColor('ff00fe')).toBe(13);
    expect(nearestMircColor('nonsense')).toBeUndefined();
  });

  it('drops a malformed colour instead of emitting a broken code', () => {
    const [line] = render(msg([{ type: 'text', text: 'x', style: { color: 'zzz' } }]));
    expect(body(line!)).toBe('x');
  });

  it('guards a comma after a colour code', () => {
    const [line] = render(msg([{ type: 'text', text: ',5 apples', style: { color: 'ff0000' } }]));
    expect(body(line!)).toBe('\x0304\x02\x02,5 apples\x0F');
    expect(parseIrcText(body(line!))).toEqual([{ type: 'text', text: ',5 apples', style: { color: 'ff0000' } }]);
  });

  it('round-trips styled text through render and parse', () => {
    const parts: Part[] = [
      text('plain '),
      { type: 'text', text: 'bold', style: { bold: true } },
      text(' and '),
      { type: 'text', text: 'green italic', style: { italic: true, color: '009300' } },
      text(' then '),
      { type: 'text', text: 'under', style: { underline: true } },
    ];
    const [line] = render(msg(parts));
    expect(parseIrcText(body(line!))).toEqual(parts);
  });
});

describe('faces, images, mentions, links', () => {
  it('renders QQ faces as emoji, or [name] without one', () => {
    const [line] = render(msg([text('wow '), facePart(0), facePart(23), facePart(999)]));
    expect(body(line!)).toBe('wow 😮[跳跳][face 999]');
  });

  it('renders images as their URL and links with their text', () => {
    const [line] = render(
      msg([
        { type: 'image', url: 'https://media.example/abc.png', mediaId: 'abc' },
        text(' '),
        { type: 'image', mediaId: 'nourl' },
        text(' '),
        { type: 'link', url: 'https://example.com/x', text: 'docs' },
        text(' '),
        { type: 'link', url: 'https://example.com/y' },
      ]),
    );
    expect(body(line!)).toBe('[image] https://media.example/abc.png [image] docs (https://example.com/x) https://example.com/y');
  });

  it('renders mentions as @name, de-pings @all and caps the number that highlight', () => {
    const many: Part[] = Array.from({ length: 8 }, (_, i) => ({ type: 'mention', name: `user${i}` }) as Part);
    const [line] = render(msg(many, 'message'), { maxMentions: 5 });
    const b = body(line!);
    for (let i = 0; i < 5; i++) expect(b).toContain(`@user${i}`);
    for (let i = 5; i < 8; i++) expect(b).toContain(`@u${ZWSP}ser${i}`);
    const [all] = render(msg([{ type: 'mention', name: 'all' }, text(' hi @everyone and @here, 请@全体成员')]));
    expect(body(all!)).toBe(`@a${ZWSP}ll hi @e${ZWSP}veryone and @h${ZWSP}ere, 请@全${ZWSP}体成员`);
  });

  it('de-pings every channel nick in a mass highlight, but not in a normal message', () => {
    const nicks = Array.from({ length: 20 }, (_, i) => `nick${i}`);
    const flood = render(msg([text(nicks.join(' '))]), { knownNicks: nicks, maxMentions: 5 });
    expect(flood.join(' ')).not.toMatch(/\bnick\d+\b/);
    expect(flood.join(' ')).toContain(`n${ZWSP}ick7`);
    const normal = render(msg([text('nick1: lunch?')]), { knownNicks: nicks });
    expect(body(normal[0]!)).toBe('nick1: lunch?');
  });
});

describe('kinds', () => {
  it('renders actions as a plain "* nick text" line', () => {
    expect(render(msg([text('waves')], 'action'))).toEqual([`* a${ZWSP}lice waves`]);
  });

  it('renders join, leave, rename and topic as short notices', () => {
    expect(render(msg([], 'join'))).toEqual([`* a${ZWSP}lice joined`]);
    expect(render(msg([text('bye')], 'leave'))).toEqual([`* a${ZWSP}lice left (bye)`]);
    expect(render(msg([text('alicia')], 'rename'))).toEqual([`* a${ZWSP}lice is now known as alicia`]);
    expect(render(msg([text('new\ntopic')], 'topic'))).toEqual([`* a${ZWSP}lice changed the topic to: new topic`]);
  });
});

describe('security', () => {
  const attacks = [
    'hi\r\nQUIT :pwned',
    'hi\rJOIN #evil',
    'hi\nPRIVMSG NickServ :DROP',
    'nul\x00QUIT',
    '\x01ACTION fake\x01',
    'bell\x07 esc\x1b[31m del\x7f vt\x0b ff\x0c',
    '\u2028PART #qq\u2029',
  ];

  it.each(attacks)('never lets %j put a control character or a new command in a line', (attack) => {
    const lines = render(msg([text(attack)], 'message', `x${attack}`));
    expect(lines.length).toBeGreaterThan(0);
    for (const l of lines) {
      expect(l).not.toMatch(/[\r\n\0\x01\x07\x1b\x7f\x0b\x0c]/);
      expect(isSafeLine(l)).toBe(true);
      // Every line is a chat line from the bridge: it starts with the prefix, never a command.
      expect(l.startsWith('[')).toBe(true);
    }
  });

  it('keeps a bare CR inside one line', () => {
    const lines = render(msg([text('a\rJOIN #evil')]));
    expect(lines).toEqual([`${prefixOf('alice')}a JOIN #evil`]);
  });

  it('strips literal mIRC codes from foreign text (styles travel as TextStyle only)', () => {
    const [line] = render(msg([text('\x02not bold\x0304 not red\x0F')]));
    expect(body(line!)).toBe('not bold04 not red');
  });

  it('recognises unsafe lines', () => {
    expect(isSafeLine('ok \x02bold\x0F \x0304red\x03')).toBe(true);
    expect(isSafeLine('a\r\nQUIT')).toBe(false);
    expect(isSafeLine('a\x00')).toBe(false);
  });
});

describe('splitting', () => {
  it('splits a 2000-byte message so every relayed line fits 512 bytes, losing nothing', () => {
    const words = Array.from({ length: 400 }, (_, i) => `w${i}`).join(' ');
    const original = words.padEnd(2000, 'x');
    expect(utf8Bytes(original)).toBe(2000);
    const lines = render(msg([text(original)]), { maxLines: 50 });
    expect(lines.length).toBeGreaterThanOrEqual(5);
    for (const l of lines) {
      expect(utf8Bytes(l)).toBeLessThanOrEqual(lineBudget({ target: '#qq' }));
      expect(utf8Bytes(relayed(l))).toBeLessThanOrEqual(512);
    }
    // Lines break at spaces: joined with one space they give the original back.
    expect(lines.map((l) => body(l)).join(' ')).toBe(original);
  });

  it('keeps the default text budget at 400 bytes or less and honours a smaller maxLineBytes', () => {
    expect(lineBudget({ target: '#qq' })).toBeLessThanOrEqual(400);
    expect(lineBudget({ target: '#qq', maxLineBytes: 120 })).toBe(120);
    const lines = render(msg([text('y'.repeat(1000))]), { maxLineBytes: 120, maxLines: 50 });
    for (const l of lines) expect(utf8Bytes(l)).toBeLessThanOrEqual(120);
    expect(lines.map((l) => body(l)).join('')).toBe('y'.repeat(1000));
    // A very long channel name shrinks the budget.
    const longChan = `#${'c'.repeat(150)}`;
    expect(lineBudget({ target: longChan })).toBeLessThan(400);
    for (const l of render(msg([text('z'.repeat(900))]), { target: longChan, maxLines: 50 })) {
      expect(utf8Bytes(relayed(l, longChan))).toBeLessThanOrEqual(512);
    }
  });

  it('never splits a surrogate pair or a CJK character', () => {
    const emoji = '🎉'.repeat(300); // 4 bytes each
    const cjk = '中文字'.repeat(200); // 3 bytes each
    for (const original of [emoji, cjk, `a${emoji}`, `ab${cjk}`]) {
      const lines = render(msg([text(original)]), { maxLines: 100 });
      expect(lines.length).toBeGreaterThan(1);
      for (const l of lines) {
        expect(LONE_SURROGATE.test(l)).toBe(false);
        expect(utf8Bytes(l)).toBeLessThanOrEqual(lineBudget({ target: '#qq' }));
        // Valid UTF-8 round trip: nothing was cut inside a character.
        expect(Buffer.from(l, 'utf8').toString('utf8')).toBe(l);
      }
      expect(lines.map((l) => body(l)).join('')).toBe(original);
    }
  });

  it('re-opens styles on each line of a split styled run', () => {
    const lines = render(msg([{ type: 'text', text: 'b'.repeat(900), style: { bold: true } }]), { maxLines: 10 });
    expect(lines.length).toBe(3);
    for (const l of lines) expect(body(l)).toMatch(/^\x02b+\x0F$/);
  });

  it('splits multi-line text on newlines, prefixing every line and dropping blank ones', () => {
    const lines = render(msg([text('one\n\ntwo\r\nthree\n')]));
    expect(lines.map((l) => body(l))).toEqual(['one', 'two', 'three']);
  });

  it('caps a 30-line message at maxLines with a "more lines" pointer', () => {
    const thirty = Array.from({ length: 30 }, (_, i) => `line ${i + 1}`).join('\n');
    const lines = render(msg([text(thirty)]));
    expect(lines).toHaveLength(5);
    expect(lines.slice(0, 4).map((l) => body(l))).toEqual(['line 1', 'line 2', 'line 3', 'line 4']);
    expect(body(lines[4]!)).toBe('… (26 more lines)');
    expect(render(msg([text(thirty)]), { maxLines: 3 }).map((l) => body(l))[2]).toBe('… (28 more lines)');
  });

  it('links the full text when an overflow publisher is given', async () => {
    const thirty = Array.from({ length: 30 }, (_, i) => `line ${i + 1}`).join('\n');
    const published: string[] = [];
    const lines = await renderIrcLines(msg([text(thirty)]), {
      target: '#qq',
      overflow: async (full) => {
        published.push(full);
        return 'https://media.example/t/abc.txt';
      },
    });
    expect(lines).toHaveLength(5);
    expect(body(lines[4]!)).toBe('… full message: https://media.example/t/abc.txt');
    expect(published).toHaveLength(1);
    expect(published[0]).toContain('line 1\n');
    expect(published[0]).toContain('line 30');
    expect(published[0]!.startsWith('alice: ')).toBe(true);
  });

  it('falls back to the line count when publishing fails, and does not publish short messages', async () => {
    const thirty = Array.from({ length: 30 }, (_, i) => `l${i}`).join('\n');
    let calls = 0;
    const failing = async () => {
      calls++;
      throw new Error('media down');
    };
    const lines = await renderIrcLines(msg([text(thirty)]), { target: '#qq', overflow: failing });
    expect(body(lines[4]!)).toBe('… (26 more lines)');
    await renderIrcLines(msg([text('short')]), { target: '#qq', overflow: failing });
    expect(calls).toBe(1);
  });
});

describe('parsing IRC text', () => {
  it('maps mIRC codes to styles and resets', () => {
    expect(parseIrcText('\x02b\x02 \x1Di\x1D \x1Fu\x1F \x0304,01red\x03 \x02\x0312x\x0F y')).toEqual([
      { type: 'text', text: 'b', style: { bold: true } },
      { type: 'text', text: ' ' },
      { type: 'text', text: 'i', style: { italic: true } },
      { type: 'text', text: ' ' },
      { type: 'text', text: 'u', style: { underline: true } },
      { type: 'text', text: ' ' },
      { type: 'text', text: 'red', style: { color: 'ff0000' } },
      { type: 'text', text: ' ' },
      { type: 'text', text: 'x', style: { bold: true, color: '0000fc' } },
      { type: 'text', text: ' y' },
    ]);
  });

  it('maps hex colours, drops extended colours, reverse, monospace, strikethrough and stray controls', () => {
    expect(parseIrcText('\x04FF8800orange\x04 \x0350ext\x03 \x16rev\x16 \x11mono\x11 \x1Es\x1E\x00\x07!')).toEqual([
      { type: 'text', text: 'orange', style: { color: 'ff8800' } },
      { type: 'text', text: ' ext rev mono s!' },
    ]);
  });

  it('turns URLs into link parts without the sentence punctuation', () => {
    expect(parseIrcText('see https://example.com/a?b=1. and (http://x.y/z) ok')).toEqual([
      { type: 'text', text: 'see ' },
      { type: 'link', url: 'https://example.com/a?b=1' },
      { type: 'text', text: '. and (' },
      { type: 'link', url: 'http://x.y/z' },
      { type: 'text', text: ') ok' },
    ]);
    expect(parseIrcText('https://en.wikipedia.org/wiki/Foo_(bar)')).toEqual([
      { type: 'link', url: 'https://en.wikipedia.org/wiki/Foo_(bar)' },
    ]);
  });

  it('keeps [name] face names as text, which QQ receives as faces (unknown brackets stay text)', () => {
    const parts = parseIrcText('哈[惊讶][not a face][大哭]');
    expect(parts).toEqual([{ type: 'text', text: '哈[惊讶][not a face][大哭]' }]);
    const toQq = renderForQq({ ...msg(parts), origin: { network: 'irc', room: '#c', sender: { id: 'alice', displayName: 'alice' } } });
    expect(toQq.filter((i) => i.type === 'face')).toEqual([{ type: 'face', id: 0 }, { type: 'face', id: 9 }]);
    expect(toQq.map((i) => (i.type === 'text' ? i.text : `<${i.type} ${i.type === 'face' ? i.id : ''}>`)).join('')).toMatch(/哈<face 0>\[not a face\]<face 9>$/);
  });

  it('recognises CTCP ACTION and ignores other CTCP requests', () => {
    expect(parseIrcMessage('\x01ACTION waves \x02hard\x02\x01')).toEqual({
      kind: 'action',
      parts: [
        { type: 'text', text: 'waves ' },
        { type: 'text', text: 'hard', style: { bold: true } },
      ],
    });
    expect(parseIrcMessage('\x01VERSION\x01')).toBeUndefined();
    expect(parseIrcMessage('hello')).toEqual({ kind: 'message', parts: [{ type: 'text', text: 'hello' }] });
  });
});
