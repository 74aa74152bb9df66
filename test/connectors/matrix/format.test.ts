import { describe, expect, it } from 'vitest';
import { asEdit, parseMatrixContent, parseMatrixHtml, renderSegments, stripReplyFallback, textContent } from '../../../src/connectors/matrix/format.js';
import { facePart } from '../../../src/connectors/qq/faces.js';

describe('Matrix format: QQ → Matrix', () => {
  it('renders styles as allow-listed HTML and keeps a plain body', () => {
    const c = textContent([{ type: 'text', text: 'bold', style: { bold: true, color: 'ff0000' } }, { type: 'text', text: ' and ' }, { type: 'text', text: 'it', style: { italic: true, underline: true } }], 'message');
    expect(c.body).toBe('bold and it');
    expect(c.format).toBe('org.matrix.custom.html');
    expect(c.formatted_body).toBe('<strong><font color="#ff0000" data-mx-color="#ff0000">bold</font></strong> and <em><u>it</u></em>');
  });

  it('escapes every injection attempt; no foreign markup reaches formatted_body', () => {
    const evil = '<script>alert(1)</script><img src=x onerror=alert(1)><a href="javascript:x">y</a>';
    const c = textContent([
      { type: 'text', text: evil, style: { bold: true, color: '"><script>' } },
      { type: 'link', url: 'javascript:alert(1)', text: '<b>x</b>' },
      { type: 'link', url: 'https://e.com/?a="><script>', text: 'ok' },
      { type: 'mention', name: '<img>', userId: '@x:hs"><script>' },
    ], 'message');
    const html = String(c.formatted_body);
    const tags = [...html.matchAll(/<\/?([a-z]+)/g)].map((m) => m[1]);
    expect(new Set(tags)).toEqual(new Set(['strong', 'a']));
    expect(html).not.toContain('<script');
    expect(html).not.toMatch(/href="(?!https:)/);
    expect(html).toContain('&lt;script&gt;');
    expect(html).toContain('href="https://e.com/?a=&quot;&gt;&lt;script&gt;"');
    expect(c.body).toContain(evil);
  });

  it('plain text stays plain (no formatted_body); faces become emoji or [name]; emotes and notices', () => {
    const c = textContent([{ type: 'text', text: 'hi ' }, facePart(14), facePart(23), facePart(99999)], 'message');
    expect(c.body).toBe('hi 🙂[跳跳][face 99999]');
    expect(c.formatted_body).toBeUndefined();
    expect(textContent([{ type: 'text', text: 'waves' }], 'action').msgtype).toBe('m.emote');
    expect(textContent([{ type: 'text', text: 'x' }], 'rename').msgtype).toBe('m.notice');
  });

  it('splits pictures into their own events and prefixes the sender once for the bot', () => {
    const segs = renderSegments([{ type: 'text', text: 'look' }, { type: 'image', mediaId: 'm1' }, { type: 'text', text: 'nice' }], 'message', { senderPrefix: 'bob' });
    expect(segs.map((s) => s.type)).toEqual(['text', 'image', 'text']);
    expect((segs[0] as unknown as { content: { body: string } }).content.body).toBe('bob: look');
    expect((segs[2] as unknown as { content: { body: string } }).content.body).toBe('nice');
  });

  it('builds edits with m.new_content and m.replace', () => {
    const e = asEdit({ msgtype: 'm.text', body: 'fixed' }, '$orig');
    expect(e).toMatchObject({ body: '* fixed', 'm.new_content': { msgtype: 'm.text', body: 'fixed' }, 'm.relates_to': { rel_type: 'm.replace', event_id: '$orig' } });
  });
});

describe('Matrix format: Matrix → neutral', () => {
  it('turns pills into mentions, keeps link URLs and drops other tags', () => {
    const parts = parseMatrixHtml('<a href="https://matrix.to/#/@bob:hs.org">Bob</a>: see <a href="https://x.org/a?b=1&amp;c=2">this</a> <font color="red">now</font><br>ok &lt;3');
    expect(parts).toEqual([
      { type: 'mention', userId: '@bob:hs.org', name: 'Bob' },
      { type: 'text', text: ': see ' },
      { type: 'link', url: 'https://x.org/a?b=1&c=2', text: 'this' },
      { type: 'text', text: ' now\nok <3' },
    ]);
  });

  it('strips the reply fallback from HTML and from the body, and reports the replied event', () => {
    const html = parseMatrixContent({
      msgtype: 'm.text',
      body: '> <@a:hs> original\n\nmy answer',
      format: 'org.matrix.custom.html',
      formatted_body: '<mx-reply><blockquote><a href="https://matrix.to/#/!r:hs/$e">In reply to</a> <a href="https://matrix.to/#/@a:hs">a</a><br>original</blockquote></mx-reply>my <b>answer</b>',
      'm.relates_to': { 'm.in_reply_to': { event_id: '$e' } },
    });
    expect(html).toEqual({ kind: 'message', replyToEventId: '$e', parts: [{ type: 'text', text: 'my ' }, { type: 'text', text: 'answer', style: { bold: true } }] });
    const plain = parseMatrixContent({ msgtype: 'm.text', body: '> <@a:hs> original\n> second line\n\nmy answer', 'm.relates_to': { 'm.in_reply_to': { event_id: '$e' } } });
    expect(plain?.parts).toEqual([{ type: 'text', text: 'my answer' }]);
    expect(stripReplyFallback('no quote')).toBe('no quote');
  });

  it('emote is an action, a user\'s m.notice a message (named like any other), edits carry the new content', () => {
    expect(parseMatrixContent({ msgtype: 'm.emote', body: 'dances' })?.kind).toBe('action');
    expect(parseMatrixContent({ msgtype: 'm.notice', body: 'n' })?.kind).toBe('message');
    const edit = parseMatrixContent({ msgtype: 'm.text', body: '* new', 'm.new_content': { msgtype: 'm.text', body: 'new' }, 'm.relates_to': { rel_type: 'm.replace', event_id: '$old' } });
    expect(edit).toEqual({ kind: 'message', editOfEventId: '$old', parts: [{ type: 'text', text: 'new' }] });
  });

  it('images, files and unknown content', () => {
    expect(parseMatrixContent({ msgtype: 'm.image', body: 'cat.png', url: 'mxc://hs/abc', info: { mimetype: 'image/png', size: 3, w: 2, h: 1 } })?.image).toEqual({ mxc: 'mxc://hs/abc', mime: 'image/png', size: 3, width: 2, height: 1, name: 'cat.png' });
    expect(parseMatrixContent({ msgtype: 'm.file', body: 'a.pdf', url: 'mxc://hs/f' })?.file).toEqual({ mxc: 'mxc://hs/f', name: 'a.pdf' });
    expect(parseMatrixContent({ msgtype: 'm.image', body: 'x', url: 'http://evil/x' })).toBeUndefined();
    expect(parseMatrixContent({ msgtype: 'm.location', body: 'geo' })).toBeUndefined();
    expect(parseMatrixContent({ msgtype: 'm.text', body: '' })).toBeUndefined();
  });

  it('script and style content never reaches QQ', () => {
    expect(parseMatrixHtml('a<script>evil()</script><style>x{}</style>b')).toEqual([{ type: 'text', text: 'ab' }]);
  });
});
