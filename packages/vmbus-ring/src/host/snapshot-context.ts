import type { SynicPorts } from './synic-hypercalls.js';
import type { VmbusServer } from './vmbus-server.js';

/**
 * What the VMBus server's share of the snapshot part is checked against: this VM's server,
 * ports, VP count and RAM.
 */
export interface ServerContext {
  readonly server: VmbusServer;
  readonly ports: SynicPorts;
  readonly vpCount: number;
  readonly ramContains: (gpa: bigint) => boolean;
}
