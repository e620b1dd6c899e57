export {
  type EchoCounters,
  EchoDevice,
  type HostChannel,
  type VmbusDevice,
} from './device.js';
export {
  VMBUS_FEATURES,
  VMBUS_PACKAGE,
  VMBUS_STATE,
  type VmbusHostOptions,
  type VmbusHostState,
  vmbusExtension,
  vmbusHostState,
} from './extension.js';
export {
  HostGuestAccess,
  HostRefusal,
  hostIsolationOf,
  VmbusPlace,
} from './host-access.js';
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
  type ChannelState,
  type OpenChannelInfo,
  ServerChannel,
  type ServerGpadl,
  type VmbusConnection,
  VmbusServer,
  type VmbusServerCounters,
  type VmbusServerOptions,
  type VmbusServerState,
} from './vmbus-server.js';
