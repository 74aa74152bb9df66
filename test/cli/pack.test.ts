/**
 * What `npm pack` puts in the tarball is what `npm install -g ./qqbridge-*.tgz` runs: every
 * module `dist/cli/main.js` reaches, the data it reads, the bundled crypto stand-in, and runtime
 * packages declared as dependencies (not devDependencies). Needs the built dist/ (npm run build).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = 'dist/cli/main.js';
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  bin: Record<string, string>;
  dependencies: Record<string, string>;
  bundleDependencies?: string[];
};

let packed: Set<string>;
let bundled: string[];

beforeAll(() => {
  if (!existsSync(join(ROOT, MAIN))) throw new Error(`${MAIN} is missing: build it first (npm run build)`);
  // --ignore-scripts: no `prepare` build; --dry-run: nothing is written.
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 60_000 });
  const [info] = JSON.parse(out) as [{ files: { path: string }[]; bundled: string[] }];
  packed = new Set(info.files.map((f) => f.path));
  bundled = info.bundled;
}, 70_000);

/** Every dist module main.js reaches through relative imports (static and dynamic), and every package it names. */
function reachable(): { modules: Set<string>; packages: Set<string> } {
  const modules = new Set<string>();
  const packages = new Set<string>();
  const todo = [MAIN];
  while (todo.length) {
    const file = todo.pop()!;
    if (modules.has(file)) continue;
    modules.add(file);
    const text = readFileSync(join(ROOT, file), 'utf8');
    // Import/export declarations start a line in tsc's output; dynamic imports take a literal.
    const specs = /^(?:import|export)\b[^;'"]*?\bfrom\s*['"]([^'"]+)['"]|^import\s*['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/gm;
    for (const m of text.matchAll(specs)) {
      const spec = (m[1] ?? m[2] ?? m[3])!;
      if (spec.startsWith('.')) todo.push(normalize(join(dirname(file), spec)));
      else if (!spec.startsWith('node:') && !builtinModules.includes(spec)) packages.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);
    }
  }
  return { modules, packages };
}

describe('npm pack', () => {
  it('holds the binary and every module it reaches, and no sources, tests or source maps', () => {
    expect(packed.has(pkg.bin.qqbridge!)).toBe(true);
    const { modules } = reachable();
    expect(modules.size).toBeGreaterThan(50);
    expect([...modules].filter((m) => !packed.has(m))).toEqual([]);
    expect([...packed].filter((p) => /^(src|test|bench|scripts)\/|\.map$|^\.ci\//.test(p))).toEqual([]);
  });

  it('holds the data files the modules read at run time', () => {
    // faces.ts reads data/qq-faces.tsv next to dist/ (a missing table stops the bridge at start).
    expect(packed.has('data/qq-faces.tsv')).toBe(true);
    expect(packed.has('config.example.yaml')).toBe(true);
    expect(packed.has('README.md')).toBe(true);
  });

  it('bundles the Matrix crypto stand-in, so an install downloads no native binary for it', () => {
    expect(bundled).toContain('@matrix-org/matrix-sdk-crypto-nodejs');
    expect(packed.has('node_modules/@matrix-org/matrix-sdk-crypto-nodejs/index.js')).toBe(true);
    expect(readFileSync(join(ROOT, 'node_modules/@matrix-org/matrix-sdk-crypto-nodejs/package.json'), 'utf8')).toContain('qqbridge stand-in');
  });

  it('every package the modules import is a runtime dependency', () => {
    const { packages } = reachable();
    expect([...packages].filter((p) => !(p in pkg.dependencies))).toEqual([]);
  });
});
