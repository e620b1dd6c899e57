export type { GuestBoundaryView } from '@pvlab/hypercall/guest';
export {
  GuestChannel,
  type ReceivedPacket,
  type SendOutcome,
} from './channel.js';
export type {
  GuestOffer,
  VmbusClientOptions,
  VmbusConnectionState,
  VmbusIsolationOptions,
} from './client-types.js';
export {
  type GuestHvMessage,
  GuestSynic,
  type GuestSynicOptions,
} from './synic.js';
export { VmbusClient } from './vmbus-client.js';
export { VmbusGuestError } from './vmbus-guest-error.js';
