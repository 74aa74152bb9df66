/**
 * Every network the bridge can speak, in one list. A new network is one folder under
 * src/connectors exporting a definition (see network.ts) plus one line here.
 */
import { ircNetwork } from './irc/definition.js';
import { matrixNetwork } from './matrix/definition.js';
import type { NetworkDefinition } from './network.js';
import { qqNetwork } from './qq/definition.js';
import { telegramNetwork } from './telegram/definition.js';

export const NETWORKS = [qqNetwork, ircNetwork, matrixNetwork, telegramNetwork] as const;

export type NetworkId = (typeof NETWORKS)[number]['id'];

const byId = new Map<string, NetworkDefinition>(NETWORKS.map((d) => [d.id, d as unknown as NetworkDefinition]));

export function network(id: string): NetworkDefinition | undefined {
  return byId.get(id);
}

export function networks(): NetworkDefinition[] {
  return [...byId.values()];
}

/** Every link needs a room on an anchor network (QQ); that room is what names a link. */
export function isAnchorNetwork(id: string): boolean {
  return byId.get(id)?.anchor === true;
}

/** How people write a network's name; an unknown id passes through when it looks like a name. */
export function displayNetwork(id: string): string {
  return byId.get(id)?.displayName ?? (/^[a-z][a-z0-9_-]{0,19}$/i.test(id) ? id : 'the network');
}

/** A room as a person reads it, through its network's codec. */
export function displayRoom(ref: { network: string; room: string }): string {
  return byId.get(ref.network)?.rooms.display(ref.room) ?? `${ref.network} ${ref.room}`;
}

/** The canonical spelling of a room id (IRC folds case); unknown networks keep it as given. */
export function canonicalRoom(networkId: string, room: string): string {
  return byId.get(networkId)?.rooms.canonical(room) ?? room;
}
