/** The `irc` section of the configuration. */
import { z } from 'zod';
import { roomString } from '../side.js';
import { validateChannel } from './rooms.js';

/** Channel names as the IRC room codec (rooms.ts) accepts them: the one definition. */
export const channelNameSchema = roomString(validateChannel);

export const ircConfigSchema = z
  .object({
    host: z.string().min(1),
    /** Defaults to 6697 with TLS, 6667 without. */
    port: z.number().int().min(1).max(65535).optional(),
    tls: z.boolean().default(false),
    nick: z.string().regex(/^[A-Za-z\[\]\\`_^{|}][A-Za-z0-9\[\]\\`_^{|}-]{0,29}$/, 'a valid IRC nick (letters, digits, []\\`_^{|}-, not starting with a digit or -)'),
    username: z.string().regex(/^[^\s@\x00\r\n]{1,20}$/, 'a username without spaces or @').optional(),
    realname: z.string().regex(/^[^\x00\r\n]{1,100}$/).optional(),
    /** Server password (PASS). */
    password: z.string().optional(),
    sasl: z.object({ account: z.string().min(1), password: z.string().min(1) }).optional(),
    nickservPassword: z.string().min(1).optional(),
    channelKeys: z.record(channelNameSchema, z.string().regex(/^[^\s,\x00\r\n]+$/)).default({}),
    /** Relay IRC joins, parts, quits and nick changes as notices. */
    relayJoins: z.boolean().default(false),
    maxLines: z.number().int().min(1).max(50).default(5),
    maxLineBytes: z.number().int().min(64).max(480).default(400),
    rateLimit: z
      .object({ perSecond: z.number().positive(), burst: z.number().int().min(1) })
      .default({ perSecond: 1, burst: 5 }),
    reconnect: z
      .object({ minMs: z.number().int().min(1), maxMs: z.number().int().min(1) })
      .refine((r) => r.maxMs >= r.minMs, 'reconnect.maxMs must be ≥ reconnect.minMs')
      .default({ minMs: 1000, maxMs: 60000 }),
  })
  .refine((c) => !(c.sasl && c.nickservPassword), {
    message: 'set either irc.sasl or irc.nickservPassword, not both',
    path: ['nickservPassword'],
  })
  .transform((c) => ({ ...c, port: c.port ?? (c.tls ? 6697 : 6667) }));

export type IrcConfigInput = z.input<typeof ircConfigSchema>;
export type IrcConfig = z.output<typeof ircConfigSchema>;
