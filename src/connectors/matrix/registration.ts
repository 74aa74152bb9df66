/**
 * The application-service registration file the homeserver loads: tokens, the URL it pushes
 * transactions to, and the namespaces the bridge owns exclusively.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import YAML from 'yaml';
import { z } from 'zod';
import { ConfigError } from '../../core/errors.js';

export interface Namespace {
  exclusive: boolean;
  regex: string;
}

export interface Registration {
  id: string;
  url: string;
  as_token: string;
  hs_token: string;
  sender_localpart: string;
  rate_limited: boolean;
  namespaces: { users: Namespace[]; aliases: Namespace[]; rooms: Namespace[] };
  protocols?: string[];
}

export interface RegistrationOptions {
  id: string;
  /** Where the homeserver reaches the bridge, e.g. http://127.0.0.1:8090. */
  url: string;
  domain: string;
  userPrefix: string;
  senderLocalpart: string;
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A new registration with fresh random tokens. */
export function buildRegistration(o: RegistrationOptions): Registration {
  const token = () => crypto.randomBytes(32).toString('hex');
  const prefix = escapeRe(o.userPrefix);
  const domain = escapeRe(o.domain);
  return {
    id: o.id,
    url: o.url,
    as_token: token(),
    hs_token: token(),
    sender_localpart: o.senderLocalpart,
    rate_limited: false,
    namespaces: {
      users: [{ exclusive: true, regex: `@${prefix}\\d+:${domain}` }],
      aliases: [{ exclusive: true, regex: `#${prefix}\\d+:${domain}` }],
      rooms: [],
    },
    protocols: ['qq'],
  };
}

/** Writes the registration readable by its owner only (it holds both tokens). */
export function writeRegistration(file: string, reg: Registration): void {
  fs.writeFileSync(file, YAML.stringify(reg), { mode: 0o600 });
  fs.chmodSync(file, 0o600);
}

const namespaceSchema = z.object({ exclusive: z.boolean().default(false), regex: z.string().min(1) });
const registrationSchema = z.object({
  id: z.string().min(1),
  url: z.string().nullable(),
  as_token: z.string().min(1),
  hs_token: z.string().min(1),
  sender_localpart: z.string().min(1),
  rate_limited: z.boolean().default(true),
  namespaces: z
    .object({
      users: z.array(namespaceSchema).default([]),
      aliases: z.array(namespaceSchema).default([]),
      rooms: z.array(namespaceSchema).default([]),
    })
    .default({ users: [], aliases: [], rooms: [] }),
  protocols: z.array(z.string()).optional(),
});

/** Reads and checks a registration file; throws ConfigError naming the file and the bad key. */
export function loadRegistration(file: string): Registration {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(`cannot read Matrix registration ${file}: ${(e as Error).message} (create it with "qqbridge generate-registration")`);
  }
  let data: unknown;
  try {
    data = YAML.parse(text);
  } catch (e) {
    throw new ConfigError(`Matrix registration ${file} is not valid YAML: ${(e as Error).message}`);
  }
  const parsed = registrationSchema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ConfigError(`Matrix registration ${file}: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  const reg = parsed.data;
  for (const [k, v] of [['as_token', reg.as_token], ['hs_token', reg.hs_token]] as const) {
    if (/PLACEHOLDER|CHANGE.?ME/i.test(v)) {
      throw new ConfigError(`Matrix registration ${file}: ${k} is still a placeholder; generate real tokens with "qqbridge generate-registration"`);
    }
  }
  if (reg.as_token === reg.hs_token) throw new ConfigError(`Matrix registration ${file}: as_token and hs_token must differ`);
  return { ...reg, url: reg.url ?? '' };
}
