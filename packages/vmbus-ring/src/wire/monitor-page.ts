/**
 * The VMBus monitor pages — spec 04 "Monitor page" (Linux `struct hv_monitor_page`): two guest
 * pages named in INITIATE_CONTACT, [0] parent→child and [1] child→parent. A channel with a
 * monitor id m signals through trigger group m / 32, bit m % 32 of the child→parent page.
 */

/** Bytes of a monitor page. */
export const MONITOR_PAGE_SIZE = 4096;
/** u32 trigger_state: bits 3:0 enable the four trigger groups. */
export const MONITOR_TRIGGER_STATE_OFFSET = 0;
/** 4 × {u32 pending, u32 armed}. */
export const MONITOR_TRIGGER_GROUP_OFFSET = 8;
/** u32 next_check_time[4][32]. */
export const MONITOR_NEXT_CHECK_TIME_OFFSET = 64;
/** u16 latency[4][32]. */
export const MONITOR_LATENCY_OFFSET = 576;
/** {u32 connection_id, u16 flag_number, u16 rsvd} parameter[4][32]. */
export const MONITOR_PARAMETER_OFFSET = 1088;
/** Trigger groups and monitor ids. */
export const MONITOR_GROUPS = 4;
export const MONITOR_IDS = MONITOR_GROUPS * 32;

/** Where monitor id `id` lives: the pending word's byte offset, the armed word's, and the bit. */
export function monitorTrigger(id: number): { pending: number; armed: number; bit: number; group: number } {
  if (!Number.isInteger(id) || id < 0 || id >= MONITOR_IDS) {
    throw new RangeError(`monitor id ${id} does not exist: use 0..${MONITOR_IDS - 1}`);
  }
  const group = id >>> 5;
  const pending = MONITOR_TRIGGER_GROUP_OFFSET + 8 * group;
  return { pending, armed: pending + 4, bit: id & 31, group };
}

/** Byte offset of monitor id `id`'s parameter {connection_id, flag_number}. */
export function monitorParameterOffset(id: number): number {
  monitorTrigger(id);
  return MONITOR_PARAMETER_OFFSET + 8 * id;
}

/** Byte offset of monitor id `id`'s latency (u16, in 100 ns units). */
export function monitorLatencyOffset(id: number): number {
  monitorTrigger(id);
  return MONITOR_LATENCY_OFFSET + 2 * id;
}
