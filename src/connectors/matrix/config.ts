/** The `matrix` section of the configuration. */
import { z } from 'zod';

export const matrixUserIdSchema = z
  .string()
  .regex(/^@[a-z0-9._=\-/+]+:[A-Za-z0-9.\-]+(:\d{1,5})?$/, 'a Matrix user id such as "@alice:example.org"');

export const matrixConfigSchema = z
  .object({
    /** Where the bridge reaches the homeserver's client-server API, e.g. http://localhost:8008. */
    homeserverUrl: z.string().url().refine((u) => /^https?:\/\//.test(u), 'an http:// or https:// URL'),
    /** The homeserver's server name (the part after ':' in user ids). */
    domain: z.string().regex(/^[A-Za-z0-9.\-]+(:\d{1,5})?$/, 'a server name such as "example.org"'),
    /** Path of the registration YAML (see `qqbridge generate-registration`). */
    registration: z.string().min(1),
    bindAddress: z.string().min(1).default('127.0.0.1'),
    port: z.number().int().min(0).max(65535).default(8090),
    /** Localpart prefix of ghosts (`@qq_10001:domain`) and portal aliases (`#qq_346167134:domain`). */
    userPrefix: z.string().regex(/^[a-z0-9._=\-/]+$/, 'lower-case letters, digits and ._=-/').default('qq_'),
    /**
     * Matrix users allowed to run `!qq link`/`!qq unlink` in any room and to invite the bot into
     * a room. Nobody else can link a room to a QQ group: a room's own moderators (anyone can
     * create a room) may only `!qq unlink` or `!qq list` in a room that is already linked.
     */
    admins: z.array(matrixUserIdSchema).default([]),
    /**
     * Whether an alias query for `#<userPrefix><group>:<domain>` creates a portal room (invite-only;
     * the admins are invited). Off by default: a portal reads and posts into a QQ group.
     */
    portals: z.boolean().default(false),
    /** With `portals`, only these QQ groups get portal rooms (default: any group the account is in). */
    portalGroups: z.array(z.number().int().positive()).optional(),
    /**
     * A Matrix redaction deletes the bridged copies where the network can delete (OneBot, Milky,
     * Telegram); where it cannot (WebQQ, IRC) it becomes a short notice, or nothing.
     */
    redactions: z.enum(['notice', 'ignore']).default('notice'),
  })
  .strict();

export type MatrixConfigInput = z.input<typeof matrixConfigSchema>;
export type MatrixConfig = z.output<typeof matrixConfigSchema>;
