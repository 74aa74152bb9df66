/**
 * The classic QQ system-face table (data/qq-faces.tsv), shared by every network: QQ sends
 * `["face", id]`, other networks see the emoji or `[name]`, and text coming back to QQ turns
 * `[惊讶]` (and, on request, a face's emoji) into a face again.
 */
import { readFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { EmojiPart, Part } from '../../core/message.js';

export interface Face {
  id: number;
  name: string;
  emoji?: string;
}

interface FaceTable {
  byId: Map<number, Face>;
  byName: Map<string, Face>;
  byEmoji: Map<string, Face>;
  /** Matches `[name]` for every known name and, in group 2, every known emoji. */
  nameRe: RegExp;
  emojiRe: RegExp;
}

// The variation selector only changes how a glyph is drawn (☺ vs ☺️); compare without it.
const VS16 = /\uFE0F/g;
const normEmoji = (e: string) => e.replace(VS16, '');
const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** From src/connectors/qq (tsx, vitest) the data folder is ../../../data; from the built copy one more level up. */
function tsvPath(): string {
  const candidates = ['../../../data/qq-faces.tsv', '../../../../data/qq-faces.tsv'].map((rel) =>
    fileURLToPath(new URL(rel, import.meta.url)),
  );
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error(`QQ face table data/qq-faces.tsv not found (looked in ${candidates.join(', ')}); it ships with qqbridge, restore the data folder`);
  return found;
}

/** Parses the TSV text; exported for tests of the parser itself. */
export function parseFaceTable(tsv: string, where = 'qq-faces.tsv'): Face[] {
  const lines = tsv.split(/\r?\n/);
  const header = lines[0]?.split('\t') ?? [];
  if (header[0] !== 'id' || header[1] !== 'name') {
    throw new Error(`${where}: line 1: expected header "id\tname\temoji\tnote", got ${JSON.stringify(lines[0])}`);
  }
  const faces: Face[] = [];
  lines.slice(1).forEach((line, i) => {
    if (line.trim() === '') return;
    const [idText = '', name = '', emoji = ''] = line.split('\t');
    const id = Number(idText);
    if (!/^\d+$/.test(idText) || name === '') {
      throw new Error(`${where}: line ${i + 2}: expected "<id>\t<name>…", got ${JSON.stringify(line)}`);
    }
    faces.push(emoji ? { id, name, emoji } : { id, name });
  });
  return faces;
}

/** Rejects what would make lookups silently wrong: no faces at all, or an id or name given twice. */
function validateFaces(faces: Face[], where: string): void {
  if (faces.length === 0) throw new Error(`${where}: the table has no faces`);
  const ids = new Set<number>();
  const names = new Set<string>();
  for (const f of faces) {
    if (ids.has(f.id)) throw new Error(`${where}: face id ${f.id} appears twice`);
    if (names.has(f.name)) throw new Error(`${where}: face name ${JSON.stringify(f.name)} appears twice`);
    ids.add(f.id);
    names.add(f.name);
  }
}

let table: FaceTable | undefined;

/**
 * Reads, validates and indexes the face table now (default: the bundled data/qq-faces.tsv) and
 * returns how many faces it has. startBridge calls it first, so a missing or broken data file
 * stops start-up with an error naming the file instead of failing the first message; lookups
 * that run before it (tests, codecs on their own) load the bundled table on first use.
 */
export function loadFaces(file?: string): number {
  table = readFaceTable(file ?? tsvPath());
  return table.byId.size;
}

function load(): FaceTable {
  return (table ??= readFaceTable(tsvPath()));
}

function readFaceTable(path: string): FaceTable {
  let tsv: string;
  try {
    tsv = readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`QQ face table ${path} cannot be read: ${(e as Error).message}`);
  }
  const faces = parseFaceTable(tsv, path);
  validateFaces(faces, path);
  return indexFaces(faces);
}

function indexFaces(faces: Face[]): FaceTable {
  const byId = new Map<number, Face>();
  const byName = new Map<string, Face>();
  const byEmoji = new Map<string, Face>();
  // Lowest id first, so that for an emoji several faces share (😭 = 9 大哭, 173 泪奔, 210 飙泪)
  // the lowest id wins: those are the classic faces every client can show.
  for (const f of [...faces].sort((a, b) => a.id - b.id)) {
    byId.set(f.id, f);
    byName.set(f.name, f);
    if (f.emoji && !byEmoji.has(normEmoji(f.emoji))) byEmoji.set(normEmoji(f.emoji), f);
  }
  // Longest first so that a name that is a prefix of another does not shadow it.
  const names = [...byName.keys()].sort((a, b) => b.length - a.length).map(escapeRe);
  const emojis = [...byEmoji.keys()].sort((a, b) => b.length - a.length).map((e) => `${escapeRe(e)}\\uFE0F?`);
  return {
    byId,
    byName,
    byEmoji,
    nameRe: new RegExp(`\\[(${names.join('|')})\\]`, 'gu'),
    emojiRe: new RegExp(`(${emojis.join('|')})`, 'gu'),
  };
}

export function faceById(id: number): Face | undefined {
  return load().byId.get(id);
}

export function faceByName(name: string): Face | undefined {
  return load().byName.get(name);
}

/**
 * The face an emoji stands for. Several faces share an emoji (👍 is 强 46 and 点赞 201): the
 * lowest id wins. A trailing variation selector (U+FE0F) is ignored.
 */
export function faceByEmoji(emoji: string): Face | undefined {
  return load().byEmoji.get(normEmoji(emoji));
}

/** The neutral part for QQ face `id`: shown elsewhere as its emoji, else `[name]`; QQ sends it back as the face. */
export function facePart(id: number): EmojiPart {
  const f = faceById(id);
  const native = { network: 'qq', id: String(id) };
  if (!f) return { type: 'emoji', text: `[face ${id}]`, native };
  return { type: 'emoji', text: f.emoji ?? `[${f.name}]`, name: f.name, native };
}

/** The QQ face an emoji part stands for: its own id when it came from QQ, else the face of its emoji or name. */
export function faceIdOf(part: EmojiPart): number | undefined {
  if (part.native?.network === 'qq' && /^\d+$/.test(part.native.id)) return Number(part.native.id);
  const f = faceByEmoji(part.text) ?? (part.name ? faceByName(part.name) : undefined);
  return f?.id;
}

export interface TextToPartsOptions {
  /** Also turn emoji that stand for a face into that face (for text going TO QQ). Default false. */
  emoji?: boolean;
}

/**
 * Splits text into text and face parts: `[惊讶]` (a known face name in brackets) becomes face 0;
 * with `emoji: true`, 😮 does too. Unknown bracketed words stay text.
 */
export function textToParts(text: string, opts: TextToPartsOptions = {}): Part[] {
  const t = load();
  const out: Part[] = [];
  const pushText = (s: string) => {
    if (!s) return;
    const last = out[out.length - 1];
    if (last && last.type === 'text') last.text += s;
    else out.push({ type: 'text', text: s });
  };
  const scanEmoji = (s: string) => {
    if (!opts.emoji) return pushText(s);
    let pos = 0;
    for (const m of s.matchAll(t.emojiRe)) {
      pushText(s.slice(pos, m.index));
      const f = t.byEmoji.get(normEmoji(m[0]));
      if (f) out.push(facePart(f.id));
      else pushText(m[0]);
      pos = m.index + m[0].length;
    }
    pushText(s.slice(pos));
  };
  let pos = 0;
  for (const m of text.matchAll(t.nameRe)) {
    scanEmoji(text.slice(pos, m.index));
    const f = t.byName.get(m[1] ?? '');
    if (f) out.push(facePart(f.id));
    else pushText(m[0]);
    pos = m.index + m[0].length;
  }
  scanEmoji(text.slice(pos));
  return out;
}
