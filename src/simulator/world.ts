/**
 * The simulator's world: who exists, who is friends with whom, which groups and discussions there
 * are. Only stable identities live here (QQ numbers, group numbers, discussion names); the
 * session-scoped uins/gids/codes/dids the real server handed out are assigned per login in
 * sessions.ts.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { z } from 'zod';
import { ConfigError } from '../core/errors.js';

export interface WorldAccount {
  qq: number;
  password: string;
  nick: string;
  face?: number;
  /** A "密保" account: check_sig answers the security-check page (mibao_res) first (§1.3.4). */
  securityCheck?: boolean;
}
export interface WorldUser {
  qq: number;
  nick: string;
  face?: number;
  /** Long nick (signature) returned by get_single_long_nick2. */
  lnick?: string;
}
export interface WorldGroupMember {
  qq: number;
  card?: string;
}
export interface WorldGroup {
  number: number;
  name: string;
  /** The group's memo (its announcement line), as get_group_info_ext2 returns it; empty when unset. */
  memo?: string;
  owner: number;
  members: WorldGroupMember[];
}
export interface WorldDiscussion {
  name: string;
  owner: number;
  members: number[];
}
export interface World {
  accounts: WorldAccount[];
  users: WorldUser[];
  /** account QQ (as a string key) → friend QQ numbers */
  friends: Record<string, number[]>;
  groups: WorldGroup[];
  discussions: WorldDiscussion[];
}

const qq = z.number().int().min(10000).max(0xffffffff);

const worldSchema = z.strictObject({
  accounts: z
    .array(
      z.strictObject({
        qq,
        password: z.string().min(1),
        nick: z.string().min(1),
        face: z.number().int().min(0).optional(),
        securityCheck: z.boolean().optional(),
      }),
    )
    .min(1),
  users: z
    .array(
      z.strictObject({
        qq,
        nick: z.string(),
        face: z.number().int().min(0).optional(),
        lnick: z.string().optional(),
      }),
    )
    .default([]),
  friends: z.record(z.string().regex(/^\d+$/, 'keys must be account QQ numbers'), z.array(qq)).default({}),
  groups: z
    .array(
      z.strictObject({
        number: qq,
        name: z.string().min(1),
        memo: z.string().optional(),
        owner: qq,
        members: z.array(z.strictObject({ qq, card: z.string().optional() })).min(1),
      }),
    )
    .default([]),
  discussions: z
    .array(z.strictObject({ name: z.string().min(1), owner: qq, members: z.array(qq).min(1) }))
    .default([]),
});

/** The seeds' world (seed 000/003): qqbot in qqbot群 and in the "good day" discussion. */
export function defaultWorld(): World {
  return {
    accounts: [{ qq: 2769546520, password: '123456', nick: 'qqbot', face: 0 }],
    users: [
      { qq: 2440652742, nick: '呼吸 (糗百)', face: 0, lnick: '' },
      { qq: 2899268194, nick: 'robot' },
      { qq: 2041084648, nick: 'robot ops' },
      { qq: 21984709, nick: '21984709' },
      { qq: 123774072, nick: '呼吸 (糗百)' },
    ],
    friends: { '2769546520': [2440652742] },
    groups: [
      {
        number: 346167134,
        name: 'qqbot群',
        owner: 2769546520,
        members: [{ qq: 2440652742 }, { qq: 2899268194 }, { qq: 2769546520 }, { qq: 2041084648 }],
      },
    ],
    discussions: [{ name: 'good day', owner: 123774072, members: [21984709, 123774072, 2769546520] }],
  };
}

const MAX_ISSUES_SHOWN = 20;

/** Checks shape and cross-references; `source` names the file (or "world") in error messages. */
export function parseWorld(input: unknown, source = 'world'): World {
  const r = worldSchema.safeParse(input);
  if (!r.success) {
    // A huge broken file must not become a huge message: the first problems say enough.
    const shown = r.error.issues.slice(0, MAX_ISSUES_SHOWN);
    const lines = shown.map((i) => `  ${i.path.length ? i.path.join('.') : '(top)'}: ${i.message}`);
    if (r.error.issues.length > shown.length) lines.push(`  … and ${r.error.issues.length - shown.length} more problems`);
    throw new ConfigError(`${source}: invalid world:\n${lines.join('\n')}`);
  }
  const w = r.data as World;
  const problems: string[] = [];
  const known = new Set<number>();
  const seen = (n: number, where: string) => {
    if (known.has(n)) problems.push(`${where}: QQ ${n} is defined twice`);
    known.add(n);
  };
  w.accounts.forEach((a, i) => seen(a.qq, `accounts.${i}.qq`));
  w.users.forEach((u, i) => seen(u.qq, `users.${i}.qq`));
  const need = (n: number, where: string) => {
    if (!known.has(n)) problems.push(`${where}: QQ ${n} is neither an account nor a user`);
  };
  const accountSet = new Set(w.accounts.map((a) => a.qq));
  for (const [acc, list] of Object.entries(w.friends)) {
    if (!accountSet.has(Number(acc))) problems.push(`friends.${acc}: ${acc} is not an account`);
    list.forEach((f, i) => need(f, `friends.${acc}.${i}`));
  }
  const numbers = new Set<number>();
  w.groups.forEach((g, i) => {
    if (numbers.has(g.number)) problems.push(`groups.${i}.number: group ${g.number} is defined twice`);
    numbers.add(g.number);
    need(g.owner, `groups.${i}.owner`);
    const mem = new Set<number>();
    g.members.forEach((m, j) => {
      need(m.qq, `groups.${i}.members.${j}.qq`);
      if (mem.has(m.qq)) problems.push(`groups.${i}.members.${j}.qq: ${m.qq} is listed twice`);
      mem.add(m.qq);
    });
  });
  const names = new Set<string>();
  w.discussions.forEach((d, i) => {
    if (names.has(d.name)) problems.push(`discussions.${i}.name: discussion "${d.name}" is defined twice`);
    names.add(d.name);
    need(d.owner, `discussions.${i}.owner`);
    d.members.forEach((m, j) => need(m, `discussions.${i}.members.${j}`));
  });
  if (problems.length) {
    const more = problems.length > MAX_ISSUES_SHOWN ? [`… and ${problems.length - MAX_ISSUES_SHOWN} more problems`] : [];
    throw new ConfigError(`${source}: invalid world:\n${[...problems.slice(0, MAX_ISSUES_SHOWN), ...more].map((p) => `  ${p}`).join('\n')}`);
  }
  return w;
}

/** Reads a world file (YAML, or JSON by extension) and validates it. Errors name the file and line. */
export function loadWorld(file: string): World {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(`${file}: cannot read world file: ${(e as Error).message}`);
  }
  let data: unknown;
  if (/\.json$/i.test(file)) {
    try {
      data = JSON.parse(text);
    } catch (e) {
      throw new ConfigError(`${file}: invalid JSON: ${(e as Error).message}`);
    }
  } else {
    try {
      data = parseYaml(text);
    } catch (e) {
      if (e instanceof YAMLParseError) {
        const pos = e.linePos?.[0];
        throw new ConfigError(`${file}${pos ? `:${pos.line}:${pos.col}` : ''}: invalid YAML: ${e.message.split('\n')[0]}`);
      }
      throw new ConfigError(`${file}: invalid YAML: ${(e as Error).message}`);
    }
  }
  return parseWorld(data, file);
}

/** Nick of any QQ number in the world (accounts and users). */
export function nickOf(w: World, n: number): string {
  return w.accounts.find((a) => a.qq === n)?.nick ?? w.users.find((u) => u.qq === n)?.nick ?? String(n);
}
export function faceOf(w: World, n: number): number {
  return w.accounts.find((a) => a.qq === n)?.face ?? w.users.find((u) => u.qq === n)?.face ?? 0;
}
