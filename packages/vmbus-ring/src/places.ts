/**
 * The guest objects a refusal or fault names, in both rooms: the host's refusals and the guest's
 * own faults and errors say the same words (those of `@pvlab/isolation`'s `SharedPlace`).
 */
export const VmbusPlace = {
  MONITOR_PAGE: 'VMBus monitor page',
  RING_BUFFER: 'VMBus ring buffer',
  GPADL: 'VMBus GPADL',
  GPA_DIRECT: 'VMBus GPA-direct range',
} as const;
