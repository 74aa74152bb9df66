import { describe, expect, it } from 'vitest';
import { escapeHtml } from '../../src/core/html.js';

describe('escapeHtml', () => {
  const nasty = `a&b <i>"x"</i> 'y' &amp;`;

  it('escapes & < > in text and leaves quotes alone by default', () => {
    expect(escapeHtml(nasty)).toBe(`a&amp;b &lt;i&gt;"x"&lt;/i&gt; 'y' &amp;amp;`);
    expect(escapeHtml(nasty, { quotes: 'none' })).toBe(escapeHtml(nasty));
  });

  it("escapes double quotes for a \"-quoted attribute, single ones only with 'all'", () => {
    expect(escapeHtml(nasty, { quotes: 'double' })).toBe(`a&amp;b &lt;i&gt;&quot;x&quot;&lt;/i&gt; 'y' &amp;amp;`);
    expect(escapeHtml(nasty, { quotes: 'all' })).toBe(`a&amp;b &lt;i&gt;&quot;x&quot;&lt;/i&gt; &#39;y&#39; &amp;amp;`);
  });

  it('leaves text without special characters, including non-ASCII, unchanged', () => {
    expect(escapeHtml('你好 🙂 plain', { quotes: 'all' })).toBe('你好 🙂 plain');
    expect(escapeHtml('')).toBe('');
  });
});
