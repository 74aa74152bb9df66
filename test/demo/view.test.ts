/** What the demo's terminal panes show for faces and IRC formatting. */
import { describe, expect, it } from 'vitest';
import { parseIrcFormatting } from '../../src/connectors/irc/format.js';
import { faceText, styledText } from '../../src/demo/view.js';

describe('demo view', () => {
  it('shows a QQ face as its emoji, or its name, never as a bare id', () => {
    expect(faceText(14)).toBe('🙂');
    expect(faceText(13)).toBe('😁');
    expect(faceText(999_999)).toBe('[face 999999]');
  });

  it('keeps the bold of an IRC line (as *bold* when the output is not a terminal)', () => {
    // vitest's stdout is not a TTY: the plain-text form is used.
    expect(styledText(parseIrcFormatting('IRC formatting is \x02reduced\x02 to plain text'))).toBe('IRC formatting is *reduced* to plain text');
  });
});
