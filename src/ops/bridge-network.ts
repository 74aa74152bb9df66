/** Messages the bridge itself posts (status notices) come from this network; they are not user traffic. */
export const BRIDGE_NETWORK = 'bridge';
