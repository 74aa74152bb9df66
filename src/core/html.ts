/**
 * HTML escaping shared by the connectors that speak HTML (Telegram's parse mode, Matrix's
 * `formatted_body`). Pure.
 */

/**
 * Which quotes to escape besides `&`, `<`, `>`:
 * - `'none'` (default): element text, where quotes are plain characters;
 * - `'double'`: `"` as `&quot;` too, for a `"`-quoted attribute value;
 * - `'all'`: `"` as `&quot;` and `'` as `&#39;`, safe in any attribute, whatever its quoting.
 */
export type HtmlQuotes = 'none' | 'double' | 'all';

const ENTITY: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const SPECIAL: Record<HtmlQuotes, RegExp> = { none: /[&<>]/g, double: /[&<>"]/g, all: /[&<>"']/g };

/** `text` with every character HTML gives a meaning to (per `quotes`) written as an entity. */
export function escapeHtml(text: string, opts: { quotes?: HtmlQuotes } = {}): string {
  return text.replace(SPECIAL[opts.quotes ?? 'none'], (c) => ENTITY[c]!);
}
