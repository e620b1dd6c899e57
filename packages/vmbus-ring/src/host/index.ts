export { VmbusPlace } from '../places.js';
export {
  type EchoCounters,
  EchoDevice,
  type HostChannel,
  type VmbusDevice,
} from './device.js';
export {
  VMBUS_FEATURES,
  type VmbusHostOptions,
  vmbusExtension,
} from './extension.js';
export {
  HostGuestAccess,
  HostRefusal,
  hostIsolationOf,
} from './host-access.js';
export {
  type ChannelState,
  type OpenChannelInfo,
  ServerChannel,
  type ServerGpadl,
  type VmbusConnection,
  type VmbusServerCounters,
  type VmbusServerOptions,
  type VmbusServerState,
} from './server-state.js';
export { vmbusSnapshotPart } from './snapshot.js';
export {
  type PostOutcome,
  type QueuedMessage,
  SynicHost,
  SynicVpState,
} from './synic.js';
export {
  type EventConnection,
  type EventPortHandler,
  type MessagePortHandler,
  postMessage,
  SynicPorts,
  signalEvent,
} from './synic-hypercalls.js';
export {
  VMBUS_PACKAGE,
  VMBUS_STATE,
  type VmbusHostState,
  vmbusHostState,
} from './vmbus-host-state.js';
export { VmbusServer } from './vmbus-server.js';
