/**
 * The bridge config: YAML with `${ENV}` / `${ENV:-default}` substitution, validated once at start
 * against the section schemas. Every problem is reported with its file:line:column and key path,
 * all of them at once, and unknown keys are errors (a typo must not silently drop a setting).
 */
import { readFileSync } from 'node:fs';
import {
  isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument,
  type Document, type Node as YamlNode, type Scalar,
} from 'yaml';
import { z } from 'zod';
import { NETWORKS } from './connectors/registry.js';
import { ConfigError } from './core/errors.js';
import { mappingsConfigSchema } from './mappings/config.js';
import { mediaConfigSchema } from './media/config.js';
import { metricsConfigSchema, noticesConfigSchema, shutdownTimeoutSchema } from './ops/config.js';
import { storeConfigSchema } from './store/config.js';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

type Networks = typeof NETWORKS;
/** One key per network: its section schema, optional unless the network is required. */
type NetworkSections = {
  [D in Networks[number] as D['id']]: D extends { required: true } ? D['configSchema'] : z.ZodOptional<D['configSchema']>;
};

function networkSections(): NetworkSections {
  return Object.fromEntries(
    NETWORKS.map((d) => [d.id, 'required' in d && d.required ? d.configSchema : d.configSchema.optional()]),
  ) as unknown as NetworkSections;
}

export const configSchema = z
  .object({
    /** Where the bridge keeps its state (SQLite database, media files), relative to the working directory. */
    stateDir: z.string().min(1).default('./state'),
    log: z.object({ level: z.enum(LOG_LEVELS).default('info') }).strict().prefault({}),
    ...networkSections(),
    store: storeConfigSchema,
    media: mediaConfigSchema.prefault({}),
    mappings: mappingsConfigSchema.default([]),
    metrics: metricsConfigSchema.prefault({}),
    notices: noticesConfigSchema.prefault({}),
    shutdownTimeoutMs: shutdownTimeoutSchema,
  })
  .strict();

export type Config = z.output<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;

export type KeyPath = ReadonlyArray<string | number>;

export interface ConfigIssue {
  file: string;
  line: number;
  col: number;
  /** `qq.uin`, `mappings[2].irc[0]`; empty for the document itself. */
  path: string;
  message: string;
}

/** A ConfigError that also carries its issues one by one (for check-config and tests). */
export class ConfigIssuesError extends ConfigError {
  readonly issues: ConfigIssue[];
  constructor(issues: ConfigIssue[]) {
    super(issues.map(formatIssue).join('\n'));
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

export function formatIssue(i: ConfigIssue): string {
  return `${i.file}:${i.line}:${i.col}: ${i.path ? `${i.path}: ` : ''}${i.message}`;
}

export function formatPath(path: KeyPath): string {
  let out = '';
  for (const seg of path) out += typeof seg === 'number' ? `[${seg}]` : out ? `.${seg}` : seg;
  return out;
}

export interface ParseOptions {
  /**
   * Also check the files the config names (today `matrix.registration`: present, valid, not the
   * shipped placeholder). `check-config` and `run` do; tests that hand a registration over in code do not.
   */
  checkFiles?: boolean;
  /**
   * The caller uses no secret (`qqbridge status` only reads the store): an unset variable under a
   * secret key (password, token, …) is not an error. The store's URL is not such a key.
   */
  secretsUnused?: boolean;
}

/** Reads and validates a config file. Throws ConfigError naming the file, line, column and key. */
export function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env, opts: ParseOptions = {}): Config {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ConfigError(code === 'ENOENT' ? `config file not found: ${file}` : `cannot read config file ${file}: ${(e as Error).message}`);
  }
  return parseConfig(text, file, env, opts);
}

export function parseConfig(text: string, file = '<config>', env: NodeJS.ProcessEnv = process.env, opts: ParseOptions = {}): Config {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number | undefined): { line: number; col: number } =>
    offset === undefined ? { line: 1, col: 1 } : lineCounter.linePos(offset);

  if (doc.errors.length > 0) {
    throw new ConfigIssuesError(
      doc.errors.map((e) => ({ file, ...at(e.pos[0]), path: '', message: `YAML syntax error: ${e.message.split('\n')[0]}` })),
    );
  }

  // A reference that cannot be resolved is reported with every other problem; the schema's own
  // complaint about the unresolved text at that key would only repeat it.
  const envIssues: ConfigIssue[] = [];
  const envFailed = new Set<string>();
  const scalarText = new Map<string, string>();
  substituteEnv(doc.contents as YamlNode | null, [], env, (node, path, message) => {
    envFailed.add(formatPath(path));
    if (opts.secretsUnused && isSecretPath(path)) return;
    envIssues.push({ file, ...at(node.range?.[0]), path: formatPath(path), message });
  }, scalarText);

  let js: unknown;
  try {
    js = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    // An alias bomb (`maxAliasCount`) or an alias to its own anchor (`a: &a [*a]`, endless recursion).
    const why = e instanceof RangeError ? 'an alias refers to its own anchor' : (e as Error).message;
    throw new ConfigIssuesError([{ file, line: 1, col: 1, path: '', message: `YAML aliases refused: ${why}` }]);
  }
  let data: unknown;
  try {
    data = dropEmpty(js);
  } catch (e) {
    if (!(e instanceof CyclicAliasError)) throw e;
    throw new ConfigIssuesError([{ file, line: 1, col: 1, path: '', message: 'YAML aliases refused: an alias refers to its own anchor' }]);
  }
  if (data === null || data === undefined) {
    throw new ConfigIssuesError([{ file, line: 1, col: 1, path: '', message: 'the config file is empty; see config.example.yaml' }]);
  }

  const root = configSchema as unknown as ZodLike;
  const issues: ConfigIssue[] = [...envIssues];
  const seen = new Set<string>();
  const report = (path: KeyPath, message: string, preferKey = false): void => {
    const key = `${formatPath(path)}\0${message}`;
    if (seen.has(key) || envFailed.has(formatPath(path))) return;
    seen.add(key);
    const node = locate(doc, path, preferKey);
    issues.push({ file, ...at(node?.range?.[0]), path: formatPath(path), message });
  };

  // Unknown keys first, by walking the schema: not every section schema is `.strict()`.
  for (const u of findUnknownKeys(root, data, [])) {
    report(u.path, unknownKeyMessage(u.path[u.path.length - 1] as string, u.known), true);
  }
  let result = configSchema.safeParse(data);
  // `password: ${QQ_PASSWORD}` with QQ_PASSWORD=123456, or `nick: 1234`: YAML reads a number, but
  // a text field means the characters as written.
  if (!result.success && textFromNumbers(data, result.error.issues, scalarText)) result = configSchema.safeParse(data);
  if (!result.success && opts.secretsUnused) {
    // A section refused only for an unset secret (a token's format) is one the caller does not
    // use: leave it out, when it is optional, rather than fail on it.
    const shape = root._zod.def.shape ?? {};
    const sections = new Set(
      result.error.issues
        .filter((i) => envFailed.has(formatPath(i.path as KeyPath)) && typeof i.path[0] === 'string')
        .map((i) => i.path[0] as string)
        .filter((k) => Object.hasOwn(shape, k) && shape[k]!._zod.def.type === 'optional'),
    );
    for (const k of sections) delete (data as Record<string, unknown>)[k];
    if (sections.size > 0) result = configSchema.safeParse(data);
  }
  if (!result.success) {
    for (const issue of flattenIssues(result.error.issues, [])) {
      if (issue.code === 'unrecognized_keys') {
        for (const k of issue.keys) {
          const known = knownKeysAt(root, data, issue.path);
          report([...issue.path, k], unknownKeyMessage(k, known), true);
        }
        continue;
      }
      const value = valueAt(data, issue.path);
      const shown = isSecretPath(issue.path) && value !== undefined ? SECRET_VALUE : value;
      report(issue.path, describeIssue(issue, shown, leafSchemaAt(root, data, issue.path)));
    }
  }
  if (opts.checkFiles) {
    // Files a section names (Matrix's registration) are read by the network's own check.
    for (const d of NETWORKS) {
      const section = valueAt(data, [d.id]);
      if (section === undefined || !('checkFiles' in d)) continue;
      for (const p of d.checkFiles(section)) report([d.id, ...p.path], p.message);
    }
  }
  // A mapping may only name networks the config sets up: `run` would otherwise skip the room silently.
  const rawMappings = (data as { mappings?: unknown }).mappings;
  if (Array.isArray(rawMappings)) {
    rawMappings.forEach((link, i) => {
      if (!link || typeof link !== 'object') return;
      for (const d of NETWORKS) {
        if ((link as Record<string, unknown>)[d.id] === undefined || (data as Record<string, unknown>)[d.id] !== undefined) continue;
        report(['mappings', i, d.id], `this link names a ${d.displayName} room but the config has no "${d.id}:" section; add one or remove the room`, true);
      }
    });
  }
  if (!result.success && issues.length === 0) {
    report([], 'the config is not valid, but only where an unset environment variable is; set it');
  }
  if (issues.length > 0) {
    issues.sort((a, b) => a.line - b.line || a.col - b.col);
    throw new ConfigIssuesError(issues);
  }
  const config = result.data!;
  config.mappings.forEach((link, i) => {
    const node = locate(doc, ['mappings', i], false);
    const pos = at(node?.range?.[0]);
    link.source = `${file}:${pos.line}:${pos.col}`;
  });
  return config;
}

// ---------------------------------------------------------------------------------------------
// Environment substitution

/** `$${` is a literal `${`; `${NAME}` and `${NAME:-default}` are references. */
const ENV_REF = /\$\$\{|\$\{([^}]*)\}|\$\{/g;
const ENV_BODY = /^([A-Za-z_][A-Za-z0-9_]*)(?::-([\s\S]*))?$/;

function substituteEnv(
  node: YamlNode | null,
  path: (string | number)[],
  env: NodeJS.ProcessEnv,
  fail: (node: YamlNode, path: KeyPath, message: string) => void,
  /** Filled with the source text of every plain scalar that reads as a number or boolean, by path. */
  scalarText: Map<string, string>,
): void {
  if (!node || isAlias(node)) return; // an alias resolves to its anchor, which is substituted where it stands
  if (isMap(node)) {
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
      substituteEnv(pair.value as YamlNode | null, [...path, key], env, fail, scalarText);
    }
    return;
  }
  if (isSeq(node)) {
    node.items.forEach((item, i) => substituteEnv(item as YamlNode | null, [...path, i], env, fail, scalarText));
    return;
  }
  if (isScalar(node) && (typeof node.value === 'number' || typeof node.value === 'boolean')) {
    scalarText.set(formatPath(path), node.source ?? String(node.value));
    return;
  }
  if (!isScalar(node) || typeof node.value !== 'string' || !node.value.includes('${')) return;
  const scalar = node as Scalar<unknown>;
  let failed = false;
  const out = (scalar.value as string).replace(ENV_REF, (match, body: string | undefined) => {
    if (match === '$${') return '${';
    const m = body === undefined ? null : ENV_BODY.exec(body);
    if (!m) {
      failed = true;
      fail(node, path, `malformed environment reference ${JSON.stringify(match)}: use \${NAME} or \${NAME:-default} (write $\${ for a literal \${)`);
      return match;
    }
    const name = m[1]!;
    const value = env[name];
    if (value !== undefined && value !== '') return value;
    if (m[2] !== undefined) return m[2];
    failed = true;
    fail(node, path, `environment variable ${name} is ${value === '' ? 'set but empty' : 'not set'} (${envHint(name, path)})`);
    return match;
  });
  if (failed) return;
  // An unquoted `port: ${PORT}` means the number, as if the value had been written there.
  scalar.value = scalar.type === 'PLAIN' ? retype(out) : out;
  if (typeof scalar.value !== 'string') scalarText.set(formatPath(path), out);
}

/** What to do about an unresolved reference: a secret has no sensible default, so never suggest one. */
function envHint(name: string, path: KeyPath): string {
  if (isSecretPath(path)) return `set ${name} in the bridge's environment, e.g. its secrets file; a secret has no default`;
  return `set ${name}, or write \${${name}:-default} to give a default`;
}

/**
 * Puts back the text of numbers and booleans that the schema wants as text, and says whether it
 * changed anything. Only where the schema asks for a string: a number field keeps its number.
 */
function textFromNumbers(data: unknown, issues: readonly Issue[], scalarText: Map<string, string>): boolean {
  let changed = false;
  for (const issue of issues) {
    if (issue.code !== 'invalid_type' || issue.expected !== 'string' || issue.path.length === 0) continue;
    const path = issue.path as (string | number)[];
    const parent = valueAt(data, path.slice(0, -1));
    const key = path[path.length - 1]!;
    if (parent === null || typeof parent !== 'object') continue;
    const v = (parent as Record<string | number, unknown>)[key];
    if (typeof v !== 'number' && typeof v !== 'boolean') continue;
    (parent as Record<string | number, unknown>)[key] = scalarText.get(formatPath(path)) ?? String(v);
    changed = true;
  }
  return changed;
}

/**
 * `key:` with nothing after it (a section whose lines are all commented out) means "not set",
 * so its defaults apply, rather than a type error about null.
 */
function dropEmpty(v: unknown, ancestors: object[] = []): unknown {
  if (v && typeof v === 'object') {
    // An alias inside its own anchor (`a: &a [*a]`) makes yaml build a cyclic value: refuse it.
    if (ancestors.includes(v)) throw new CyclicAliasError();
    const inner = [...ancestors, v];
    if (Array.isArray(v)) return v.map((x) => dropEmpty(x, inner));
    return Object.fromEntries(Object.entries(v).filter(([, x]) => x !== null).map(([k, x]) => [k, dropEmpty(x, inner)]));
  }
  return v;
}

class CyclicAliasError extends Error {}

function retype(text: string): unknown {
  if (/^[-+]?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?$/.test(text)) return Number(text);
  if (text === 'true') return true;
  if (text === 'false') return false;
  return text;
}

// ---------------------------------------------------------------------------------------------
// Locating paths in the YAML document

/** The node at a path (the key node when preferKey), else the deepest node on the way there. */
function locate(doc: Document, path: KeyPath, preferKey: boolean): YamlNode | undefined {
  let node: unknown = doc.contents;
  let keyNode: YamlNode | undefined;
  for (const seg of path) {
    if (isAlias(node)) node = node.resolve(doc);
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && (isScalar(p.key) ? String(p.key.value) : String(p.key)) === String(seg));
      if (!pair) return keyNode ?? (node as YamlNode);
      keyNode = isScalar(pair.key) ? pair.key : keyNode;
      node = pair.value;
    } else if (isSeq(node) && typeof seg === 'number' && node.items[seg] !== undefined) {
      keyNode = undefined;
      node = node.items[seg];
    } else {
      return keyNode ?? (node as YamlNode | undefined);
    }
  }
  const value = node as YamlNode | null | undefined;
  if (preferKey && keyNode) return keyNode;
  // An empty value (`qq:` with nothing after it) has no useful position: point at its key.
  if (!value || (isScalar(value) && value.value === null && keyNode)) return keyNode;
  return value;
}

function valueAt(data: unknown, path: KeyPath): unknown {
  let v = data;
  for (const seg of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string | number, unknown>)[seg];
  }
  return v;
}

// ---------------------------------------------------------------------------------------------
// Walking zod schemas (zod 4 internals: `_zod.def`), for unknown keys and better messages

interface ZodDefLike {
  type: string;
  shape?: Record<string, ZodLike>;
  innerType?: ZodLike;
  in?: ZodLike;
  element?: ZodLike;
  valueType?: ZodLike;
  options?: ZodLike[];
  /** Set on a discriminated union: the key whose value picks the option. */
  discriminator?: string;
  getter?: () => ZodLike;
  checks?: Array<{ _zod: { def: { check: string; value?: unknown; inclusive?: boolean } } }>;
  catchall?: ZodLike;
}
interface ZodLike {
  _zod: { def: ZodDefLike };
  safeParse(v: unknown): { success: boolean };
}

const WRAPPERS = new Set(['optional', 'nullable', 'default', 'prefault', 'nonoptional', 'readonly', 'catch', 'success']);

/** Strips wrappers (optional, default, pipe/transform...) down to the schema that sees the value. */
function unwrap(schema: ZodLike, value: unknown): ZodLike {
  let s = schema;
  for (let i = 0; i < 20; i++) {
    const def = s._zod.def;
    if (WRAPPERS.has(def.type) && def.innerType) s = def.innerType;
    else if (def.type === 'pipe' && def.in) s = def.in;
    else if (def.type === 'lazy' && def.getter) s = def.getter();
    else if (def.type === 'union' && def.options) {
      const opts = def.options;
      // A discriminated union (qq.protocol): the option its key names, even when the value is invalid.
      const disc = def.discriminator;
      const tag = disc !== undefined && value && typeof value === 'object' ? (value as Record<string, unknown>)[disc] : undefined;
      const named = disc !== undefined ? opts.find((o) => unwrap(o, value)._zod.def.shape?.[disc]?.safeParse(tag).success) : undefined;
      if (named) {
        s = named;
        continue;
      }
      // The option that accepts the value, else the one object option when the value is an object.
      const ok = opts.find((o) => o.safeParse(value).success);
      const objects = opts.filter((o) => unwrap(o, value)._zod.def.type === (Array.isArray(value) ? 'array' : 'object'));
      const pick = ok ?? (objects.length === 1 ? objects[0] : undefined);
      if (!pick) return s;
      s = pick;
    } else return s;
  }
  return s;
}

function childSchema(schema: ZodLike, value: unknown, seg: string | number): ZodLike | undefined {
  const s = unwrap(schema, value);
  const def = s._zod.def;
  // Own keys only: a YAML key like `__proto__` or `constructor` must not find Object.prototype.
  if (def.type === 'object' && def.shape) return (Object.hasOwn(def.shape, String(seg)) ? def.shape[String(seg)] : undefined) ?? def.catchall;
  if (def.type === 'array' && typeof seg === 'number') return def.element;
  if (def.type === 'record') return def.valueType;
  return undefined;
}

function leafSchemaAt(schema: ZodLike, data: unknown, path: KeyPath): ZodLike | undefined {
  let s: ZodLike | undefined = schema;
  let v = data;
  for (const seg of path) {
    if (!s) return undefined;
    s = childSchema(s, v, seg);
    v = valueAt(v, [seg]);
  }
  return s ? unwrap(s, v) : undefined;
}

function knownKeysAt(schema: ZodLike, data: unknown, path: KeyPath): string[] {
  const s = leafSchemaAt(schema, data, path);
  return s && s._zod.def.type === 'object' && s._zod.def.shape ? Object.keys(s._zod.def.shape) : [];
}

function findUnknownKeys(schema: ZodLike, value: unknown, path: (string | number)[]): Array<{ path: (string | number)[]; known: string[] }> {
  const s = unwrap(schema, value);
  const def = s._zod.def;
  const out: Array<{ path: (string | number)[]; known: string[] }> = [];
  if (def.type === 'object' && def.shape && value && typeof value === 'object' && !Array.isArray(value)) {
    const known = Object.keys(def.shape);
    for (const [k, v] of Object.entries(value)) {
      const child = Object.hasOwn(def.shape, k) ? def.shape[k] : undefined;
      if (child) out.push(...findUnknownKeys(child, v, [...path, k]));
      else if (!def.catchall || def.catchall._zod.def.type === 'never') out.push({ path: [...path, k], known });
    }
  } else if (def.type === 'array' && def.element && Array.isArray(value)) {
    value.forEach((v, i) => out.push(...findUnknownKeys(def.element!, v, [...path, i])));
  } else if (def.type === 'record' && def.valueType && value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) out.push(...findUnknownKeys(def.valueType, v, [...path, k]));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Messages

function unknownKeyMessage(key: string, known: string[]): string {
  const hint = closest(key, known);
  return `unknown key${hint ? ` (did you mean "${hint}"?)` : known.length ? ` (known keys: ${known.join(', ')})` : ''}`;
}

function closest(word: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestDist = Infinity;
  for (const c of candidates) {
    const d = c.toLowerCase() === word.toLowerCase() ? 0 : levenshtein(word.toLowerCase(), c.toLowerCase());
    if (d < bestDist) {
      bestDist = d;
      best = c;
    }
  }
  return best !== undefined && bestDist <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

function levenshtein(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}

type Issue = z.core.$ZodIssue;

/** Replaces each union failure by the issues of the branch the value was meant for, when one is clear. */
function flattenIssues(issues: readonly Issue[], prefix: KeyPath): Array<Issue & { path: (string | number)[] }> {
  const out: Array<Issue & { path: (string | number)[] }> = [];
  for (const issue of issues) {
    const path = [...prefix, ...(issue.path as (string | number)[])];
    if (issue.code === 'invalid_union' && issue.errors.length > 0) {
      const meant = issue.errors.filter((branch) => !isTypeMismatch(branch));
      if (meant.length === 1) {
        out.push(...flattenIssues(meant[0]!, path));
        continue;
      }
      const expected = issue.errors
        .flatMap((b) => b.filter((i) => i.code === 'invalid_type' && i.path.length === 0).map((i) => (i as { expected: string }).expected))
        .filter((e, i, all) => all.indexOf(e) === i);
      const custom = issue.errors.flat().find((i) => i.path.length === 0 && i.code !== 'invalid_type');
      out.push({
        ...issue,
        path,
        message: custom ? custom.message : expected.length ? `expected ${expected.map(article).join(' or ')}` : issue.message,
      });
      continue;
    }
    out.push({ ...issue, path });
  }
  return out;
}

/** A union branch that failed only because the value is of another type: not the branch the user meant. */
function isTypeMismatch(branch: readonly Issue[]): boolean {
  return branch.length > 0 && branch.every((i) => i.path.length === 0 && (
    i.code === 'invalid_type' || (i.code === 'invalid_union' && i.errors.every(isTypeMismatch))
  ));
}

function article(type: string): string {
  const words: Record<string, string> = {
    object: 'a mapping (key: value lines)', array: 'a list', string: 'a string', number: 'a number',
    boolean: 'true or false', int: 'an integer',
  };
  return words[type] ?? type;
}

function withArticle(phrase: string): string {
  return `${/^[aeiou]/i.test(phrase) ? 'an' : 'a'} ${phrase}`;
}

function expectedNumber(schema: ZodLike | undefined): string {
  const def = schema?._zod.def;
  if (!def || def.type !== 'number') return 'a number';
  const int = (schema as unknown as { isInt?: boolean }).isInt === true;
  let sign = '';
  for (const c of def.checks ?? []) {
    const cd = c._zod.def;
    if (cd.check === 'greater_than' && cd.value === 0) sign = cd.inclusive ? 'non-negative ' : 'positive ';
  }
  return withArticle(`${sign}${int ? 'integer' : 'number'}`);
}

/** Values of these keys never appear in an error message, which may end up in a log. */
const SECRET_KEY = /pass|token|secret|key|sig|cookie/i;
const SECRET_VALUE = Symbol('secret');

function isSecretPath(path: KeyPath): boolean {
  return path.some((seg) => typeof seg === 'string' && SECRET_KEY.test(seg));
}

function describeValue(v: unknown): string {
  if (v === SECRET_VALUE) return 'a value not shown here (it may be a secret)';
  if (v === null) return 'an empty value';
  // A URL's user:password@ part is a credential (store.url).
  if (typeof v === 'string') v = v.replace(/\/\/([^/@\s:]*):[^/@\s]*@/g, '//$1:***@');
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 37)}...` : v);
  return String(v);
}

function describeIssue(issue: Issue, value: unknown, leaf: ZodLike | undefined): string {
  const msg = issue.message.replace(/^Invalid (input|option): /, '');
  switch (issue.code) {
    case 'invalid_type': {
      if (value === undefined) return 'required key is missing';
      const expected = issue.expected === 'number' || issue.expected === 'int' ? expectedNumber(leaf) : article(issue.expected);
      return `expected ${expected}, got ${describeValue(value)}`;
    }
    case 'invalid_value':
    case 'too_small':
    case 'too_big':
    case 'invalid_format':
      return value === undefined || (typeof value === 'object' && value !== null) ? msg : `${msg}, got ${describeValue(value)}`;
    default:
      return msg;
  }
}
