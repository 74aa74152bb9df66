import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { faceByEmoji, faceById, faceByName, faceIdOf, facePart, loadFaces, parseFaceTable, textToParts } from '../../../src/connectors/qq/faces.js';

describe('QQ face table', () => {
  it('looks faces up by id and by name', () => {
    expect(faceById(0)).toEqual({ id: 0, name: '惊讶', emoji: '😮' });
    expect(faceById(23)).toEqual({ id: 23, name: '跳跳' });
    expect(faceById(15)).toBeUndefined(); // an unnamed legacy id
    expect(faceByName('微笑')?.id).toBe(14);
    expect(faceByName('nope')).toBeUndefined();
  });

  it('loads every row of the table (185 faces, ids 0–212)', () => {
    let n = 0;
    for (let id = 0; id <= 213; id++) if (faceById(id)) n++;
    expect(n).toBe(185);
    expect(faceById(212)).toBeDefined();
    // the modern faces OneBot implementations send
    expect(faceById(271)?.name).toBe('吃瓜');
    expect(faceById(326)?.name).toBe('生气');
    expect(faceById(213)).toBeUndefined();
  });

  it('maps a shared emoji to the lowest id, ignoring the variation selector', () => {
    expect(faceByEmoji('😭')?.id).toBe(9); // also 173 泪奔 and 210 飙泪
    expect(faceByEmoji('👍')?.id).toBe(46); // also 201 点赞
    expect(faceByEmoji('☺️')?.id).toBe(6);
    expect(faceByEmoji('☺')?.id).toBe(6);
    expect(faceByEmoji('🦄')).toBeUndefined();
  });

  it('builds neutral emoji parts: the emoji, else [name], else [face id], and the QQ id to send back', () => {
    expect(facePart(2)).toEqual({ type: 'emoji', text: '😍', name: '色', native: { network: 'qq', id: '2' } });
    expect(facePart(25)).toEqual({ type: 'emoji', text: '[发抖]', name: '发抖', native: { network: 'qq', id: '25' } });
    expect(facePart(9999)).toEqual({ type: 'emoji', text: '[face 9999]', native: { network: 'qq', id: '9999' } });
  });

  it('reads the QQ face back from an emoji part: its own id first, else its emoji, else its name', () => {
    expect(faceIdOf(facePart(2))).toBe(2);
    expect(faceIdOf(facePart(9999))).toBe(9999);
    // 泪奔 (173) shares 😭 with 大哭 (9): a part that came from QQ keeps its own face.
    expect(faceIdOf(facePart(173))).toBe(173);
    expect(faceIdOf({ type: 'emoji', text: '😭' })).toBe(9);
    expect(faceIdOf({ type: 'emoji', text: '☺️' })).toBe(6);
    expect(faceIdOf({ type: 'emoji', text: ':wave:', name: '微笑' })).toBe(14);
    // Another network's own emoji is not a QQ id, even when it is numeric.
    expect(faceIdOf({ type: 'emoji', text: ':blob:', native: { network: 'matrix', id: '14' } })).toBeUndefined();
    expect(faceIdOf({ type: 'emoji', text: '🦄' })).toBeUndefined();
  });

  it('turns [name] into faces and, on request, emoji too', () => {
    expect(textToParts('早[微笑]! 😭 [unknown]')).toEqual([
      { type: 'text', text: '早' },
      { type: 'emoji', text: '🙂', name: '微笑', native: { network: 'qq', id: '14' } },
      { type: 'text', text: '! 😭 [unknown]' },
    ]);
    expect(textToParts('早 😭👍 x', { emoji: true })).toEqual([
      { type: 'text', text: '早 ' },
      { type: 'emoji', text: '😭', name: '大哭', native: { network: 'qq', id: '9' } },
      { type: 'emoji', text: '👍', name: '强', native: { network: 'qq', id: '46' } },
      { type: 'text', text: ' x' },
    ]);
    expect(textToParts('')).toEqual([]);
  });

  it('reports a malformed table row with its line number', () => {
    expect(() => parseFaceTable('id\tname\temoji\tnote\n1\t撇嘴\t\t\nx\ty\n', 't.tsv')).toThrow(/t\.tsv: line 3/);
    expect(() => parseFaceTable('nope\n', 't.tsv')).toThrow(/line 1/);
  });

  it('loadFaces reads the bundled table eagerly and names a missing or broken file', () => {
    expect(loadFaces()).toBe(222);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faces-'));
    try {
      const missing = path.join(dir, 'qq-faces.tsv');
      expect(() => loadFaces(missing)).toThrow(`QQ face table ${missing} cannot be read`);
      const dup = path.join(dir, 'dup.tsv');
      fs.writeFileSync(dup, 'id\tname\temoji\tnote\n1\t撇嘴\t\t\n1\t色\t\t\n');
      expect(() => loadFaces(dup)).toThrow(`${dup}: face id 1 appears twice`);
      const empty = path.join(dir, 'empty.tsv');
      fs.writeFileSync(empty, 'id\tname\temoji\tnote\n');
      expect(() => loadFaces(empty)).toThrow(`${empty}: the table has no faces`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    // A failed load leaves the table in place.
    expect(faceById(0)?.name).toBe('惊讶');
  });
});
