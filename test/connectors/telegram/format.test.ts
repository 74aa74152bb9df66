import { describe, expect, it } from 'vitest';
import type { BridgeMessage, Part } from '../../../src/core/message.js';
import { entitiesToParts, escapeHtml, htmlToPlain, layoutHtml, renderForTelegram } from '../../../src/connectors/telegram/format.js';
import { checkHtml } from '../../fakes/telegram.js';
import { facePart } from '../../../src/connectors/qq/faces.js';

const msg = (parts: Part[], displayName = 'alice', kind: BridgeMessage['kind'] = 'message'): BridgeMessage => ({
  id: 'qq:group:1:1',
  origin: { network: 'qq', room: 'group:1', sender: { id: '1', displayName } },
  kind,
  parts,
  time: 0,
});

describe('renderForTelegram', () => {
  it('a notice from a person carries their name; only the bridge\'s own notice goes bare', () => {
    const plain = (m: BridgeMessage) => renderForTelegram(m).map((i) => (i.type === 'text' ? i.plain : '')).join('');
    const status: Part[] = [{ type: 'text', text: 'QQ connection lost' }];
    expect(plain(msg(status, 'mallory', 'notice'))).toBe('mallory: QQ connection lost');
    expect(plain({ ...msg(status, 'qqbridge', 'notice'), fromBridge: true })).toBe('QQ connection lost');
    // A join degraded to a notice already opens with the nick: not named twice.
    expect(plain(msg([{ type: 'text', text: 'alice joined' }], 'alice', 'notice'))).toBe('* alice joined');
    expect(plain(msg([{ type: 'text', text: 'waves' }], 'alice', 'action'))).toBe('* alice waves');
  });

  it('escapes HTML-hostile text and nicks so Telegram shows them literally', () => {
    const out = renderForTelegram(msg([{ type: 'text', text: '<script>alert(1)</script> &amp; <b>not bold' }], 'a<b>&c'));
    expect(out).toHaveLength(1);
    const item = out[0]!;
    if (item.type !== 'text') throw new Error('expected text');
    expect(item.html).toBe('<b>a&lt;b&gt;&amp;c</b>: &lt;script&gt;alert(1)&lt;/script&gt; &amp;amp; &lt;b&gt;not bold');
    expect(checkHtml(item.html)).toBeUndefined();
    expect(item.plain).toBe('a<b>&c: <script>alert(1)</script> &amp; <b>not bold');
  });

  it('maps styles, faces, mentions and links', () => {
    const out = renderForTelegram(
      msg([
        { type: 'text', text: 'B', style: { bold: true, italic: true } },
        { type: 'text', text: 'U', style: { underline: true } },
        facePart(0),
        facePart(999),
        { type: 'mention', name: 'bob' },
        { type: 'link', url: 'https://e.com/?a=1&b="2"', text: 'site' },
      ]),
    );
    expect(out[0]).toMatchObject({ type: 'text', html: '<b>alice</b>: <b><i>B</i></b><u>U</u>😮[face 999]@bob<a href="https://e.com/?a=1&amp;b=&quot;2&quot;">site</a>' });
    expect(checkHtml((out[0] as { html: string }).html)).toBeUndefined();
  });

  it('puts pictures in order between text, with the nick as caption, and renders actions', () => {
    const out = renderForTelegram(msg([{ type: 'text', text: 'look' }, { type: 'image', mediaId: 'm1' }, { type: 'text', text: 'after' }], 'bob', 'action'));
    expect(out.map((o) => o.type)).toEqual(['text', 'photo', 'text']);
    expect(out[0]).toMatchObject({ html: '* <b>bob</b> look' });
    expect(out[1]).toMatchObject({ captionHtml: '<b>bob</b>' });
    expect(out[2]).toMatchObject({ html: 'after' });
  });
});

describe('layoutHtml splitting', () => {
  it('splits at the limit without breaking a surrogate pair, an entity or a tag, each chunk well-formed', () => {
    const text = '😀&<'.repeat(3000);
    const chunks = layoutHtml('<b>n</b>: ', [{ text, style: { bold: true } }], 4096);
    expect(chunks.length).toBeGreaterThan(1);
    for (const c of chunks) {
      expect(c.length).toBeLessThanOrEqual(4096);
      expect(checkHtml(c)).toBeUndefined();
      expect(c).not.toMatch(/[\uD800-\uDBFF]$/);
      expect(c).not.toMatch(/^[\uDC00-\uDFFF]/);
    }
    // Nothing lost, nothing added.
    expect(chunks.map(htmlToPlain).join('')).toBe('n: ' + text);
  });

  it('keeps plain ASCII exactly at 4096 per chunk', () => {
    const chunks = layoutHtml('', [{ text: 'x'.repeat(10_000) }], 4096);
    expect(chunks.map((c) => c.length)).toEqual([4096, 4096, 1808]);
  });

  it('escapes every special character', () => {
    expect(escapeHtml('<&>"')).toBe('&lt;&amp;&gt;"');
  });
});

describe('entitiesToParts', () => {
  it('keeps links and basic styles, drops other entities to plain text, counting UTF-16 offsets', () => {
    const text = '😀 bold see https://x.y and docs /cmd';
    const parts = entitiesToParts(text, [
      { type: 'bold', offset: 3, length: 4 },
      { type: 'url', offset: 12, length: 11 },
      { type: 'text_link', offset: 28, length: 4, url: 'https://docs.example/' },
      { type: 'bot_command', offset: 33, length: 4 },
    ]);
    expect(parts).toEqual([
      { type: 'text', text: '😀 ' },
      { type: 'text', text: 'bold', style: { bold: true } },
      { type: 'text', text: ' see ' },
      { type: 'link', url: 'https://x.y' },
      { type: 'text', text: ' and ' },
      { type: 'link', url: 'https://docs.example/', text: 'docs' },
      { type: 'text', text: ' /cmd' },
    ]);
  });
});
