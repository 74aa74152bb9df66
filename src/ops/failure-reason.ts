/**
 * The short, safe reason a room notice gives for a failed delivery. The raw error text of a
 * connector can quote a request (a URL with a token, a response body), so a public room is only
 * told a category picked from a fixed list, plus at most a protocol error code that matches a
 * strict pattern (`M_FORBIDDEN`, an HTTP status). The full text stays in the (scrubbed) logs.
 */
import { displayNetwork as display, network as definitionOf } from '../connectors/registry.js';
import type { DeliveryFailure } from '../core/outbox.js';

/** Reasons any network may give; each network's own come from its definition and are tried first. */
const BEFORE: ReadonlyArray<readonly [RegExp, string]> = [[/unreadable payload/i, 'the queued message could not be read']];
const AFTER: ReadonlyArray<readonly [RegExp, string]> = [[/too large|too big|larger than/i, 'file too large']];

/** A Matrix errcode such as M_FORBIDDEN (letters and underscores only, so nothing else can ride along). */
const MATRIX_ERRCODE = /\bM_[A-Z_]{2,40}\b/;
/** An HTTP status as our connectors format it (`sendMessage: 400 Bad Request`, `… : 403 M_…`). */
const HTTP_STATUS = /(?:^|[\s:])([45]\d\d)(?=\s|$)/;

export function safeFailureReason(f: Pick<DeliveryFailure, 'kind' | 'reason'> & { target: { network: string } }): string {
  const net = f.target.network;
  const name = display(net);
  for (const [re, label] of [...BEFORE, ...(definitionOf(net)?.failureReasons ?? []), ...AFTER]) if (re.test(f.reason)) return label;
  // A Matrix errcode is the one protocol code safe to show: letters and underscores only.
  const errcode = MATRIX_ERRCODE.exec(f.reason)?.[0];
  if (errcode) return f.kind === 'fatal' ? `${name} refused the bridge's login (${errcode})` : `${name} refused it (${errcode})`;
  const status = HTTP_STATUS.exec(f.reason)?.[1];
  const code = status ? ` (error ${status})` : '';
  return f.kind === 'fatal' ? `${name} refused the bridge${code}` : `rejected by ${name}${code}`;
}
