export {
  GuestChannel,
  type ReceivedPacket,
  type SendOutcome,
} from './channel.js';
export {
  type GuestHvMessage,
  GuestSynic,
  type GuestSynicOptions,
} from './synic.js';
export {
  type GuestBoundaryView,
  type GuestOffer,
  VmbusClient,
  type VmbusClientOptions,
  type VmbusConnectionState,
  VmbusGuestError,
  type VmbusIsolationOptions,
} from './vmbus-client.js';
