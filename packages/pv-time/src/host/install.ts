import { SmcccFunction } from '../wire/ids.js';
import type { SmcccConduit } from './conduit.js';
import type { PvTimeHost } from './pv-time-host.js';

/**
 * Registers PV_TIME_FEATURES (0xC5000020) and PV_TIME_ST (0xC5000021) of `host` in `conduit`.
 * ARCH_FEATURES reports PV_TIME_FEATURES only (PV_TIME_ST is found through PV_TIME_FEATURES, as
 * in KVM); both follow the host's hide switch. Only the SMC64 ids exist (rule 1): the SMC32
 * forms and the draft id 0xC5000022 stay unknown, hence NOT_SUPPORTED.
 */
export function installPvTime(conduit: SmcccConduit, host: PvTimeHost): void {
  if (conduit.vcpus !== host.vcpus) {
    throw new RangeError(
      `installPvTime: the conduit has ${conduit.vcpus} vCPUs, the PvTimeHost ${host.vcpus}`,
    );
  }
  const visible = () => !host.hidden;
  conduit.register({
    functionId: SmcccFunction.PV_TIME_FEATURES,
    visible,
    call: (vcpu, args) => host.pvTimeFeatures(vcpu, args[0] ?? 0n),
  });
  conduit.register({
    functionId: SmcccFunction.PV_TIME_ST,
    archFeatures: false,
    visible,
    call: (vcpu) => host.pvTimeSt(vcpu),
  });
}
