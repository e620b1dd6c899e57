import {
  checkSnapshotVersion,
  readSnapshotBase64,
  readSnapshotBoolean,
  readSnapshotInt,
  readSnapshotObject,
  readSnapshotU64,
  type SnapshotData,
  SnapshotError,
  type SnapshotPart,
  showSnapshotText,
  showSnapshotValue,
  snapshotU64,
} from '@pvlab/hypercall/host';
import { InitialVpContextX64 } from '../wire/vtl-management.js';
import { VTL_PACKAGE, type VtlHostState } from './state.js';

type Fields = { readonly [key: string]: SnapshotData };

/** The initial VP context HvCallEnableVpVtl keeps: the input from its context field on. */
const CONTEXT_BYTES = InitialVpContextX64.size;

interface VpData {
  activeVtl: number;
  enabledVtls: number;
  callStack: number[];
  hostTlbInhibit: boolean;
  registers: Map<number, bigint>[];
  initialContexts: (Uint8Array | undefined)[];
}

/**
 * The VTL host state as snapshot part `vtl` (v1): the partition's enabled VTLs (bit sets), its
 * per-VTL VsmPartitionConfig, and per VP the active VTL, the enabled set, the VtlCall stack, the
 * host's TLB-flush inhibit and each VTL's register file (`{ "0x<name>": "0x<value>" }`, only the
 * registers that are not zero) with the initial context it was enabled with (base64).
 */
export function vtlSnapshotPart(state: VtlHostState): SnapshotPart {
  const vtlMask = (1 << (state.maximumVtl + 1)) - 1;
  const part: SnapshotPart = {
    name: VTL_PACKAGE,
    version: 1,
    supportedVersions: [1],
    save(): SnapshotData {
      const vps: Record<string, SnapshotData> = {};
      for (const vp of state.vps) {
        vps[String(vp.index)] = {
          activeVtl: vp.activeVtl,
          enabledVtls: vp.enabledVtls,
          callStack: [...vp.callStack],
          hostTlbInhibit: vp.hostTlbInhibit,
          vtls: vp.allRegisters.map((regs) => ({
            registers: Object.fromEntries(
              [...regs.values]
                .sort(([a], [b]) => a - b)
                .map(([name, value]) => [`0x${name.toString(16)}`, snapshotU64(value)]),
            ),
            initialContext: regs.initialContext ? Buffer.from(regs.initialContext).toString('base64') : null,
          })),
        };
      }
      return {
        maximumVtl: state.maximumVtl,
        partitionEnabledVtls: state.partitionEnabledVtls,
        mbecEnabledVtls: state.mbecEnabledVtls,
        sssEnabledVtls: state.sssEnabledVtls,
        partitionConfig: state.partitionConfig.map(snapshotU64),
        vps,
      };
    },
    restore(data: SnapshotData, version: number): void {
      checkSnapshotVersion(part, version);
      const o = readSnapshotObject(data, 'vtl', [
        'maximumVtl',
        'partitionEnabledVtls',
        'mbecEnabledVtls',
        'sssEnabledVtls',
        'partitionConfig',
        'vps',
      ]);
      if (o.maximumVtl !== state.maximumVtl) {
        throw new SnapshotError(
          `vtl.maximumVtl = ${showSnapshotValue(o.maximumVtl)}: this VM implements VTLs 0..${state.maximumVtl}`,
        );
      }
      const partitionEnabledVtls = readSnapshotInt(
        o.partitionEnabledVtls,
        'vtl.partitionEnabledVtls',
        0,
        vtlMask,
      );
      const mbec = readSnapshotInt(o.mbecEnabledVtls, 'vtl.mbecEnabledVtls', 0, vtlMask);
      const sss = readSnapshotInt(o.sssEnabledVtls, 'vtl.sssEnabledVtls', 0, vtlMask);
      if (!Array.isArray(o.partitionConfig) || o.partitionConfig.length !== state.partitionConfig.length) {
        throw new SnapshotError(
          `vtl.partitionConfig: expected ${state.partitionConfig.length} values, one per VTL`,
        );
      }
      const config = o.partitionConfig.map((v, i) => readSnapshotU64(v, `vtl.partitionConfig[${i}]`));
      const vpsData = readSnapshotObject(o.vps, 'vtl.vps');
      const restored = new Map<number, VpData>();
      for (const [key, raw] of Object.entries(vpsData)) {
        const where = `vtl.vps["${showSnapshotText(key)}"]`;
        const index = Number(key);
        if (!/^(0|[1-9]\d*)$/.test(key) || index >= state.vps.length)
          throw new SnapshotError(`${where}: not a VP of this VM (0..${state.vps.length - 1})`);
        restored.set(index, readVp(raw as Fields, where, state.maximumVtl, vtlMask));
      }
      state.partitionEnabledVtls = partitionEnabledVtls;
      state.mbecEnabledVtls = mbec;
      state.sssEnabledVtls = sss;
      config.forEach((v, i) => {
        state.partitionConfig[i] = v;
      });
      for (const [index, d] of restored) {
        const vp = state.vp(index);
        vp.activeVtl = d.activeVtl;
        vp.enabledVtls = d.enabledVtls;
        vp.callStack.splice(0, vp.callStack.length, ...d.callStack);
        vp.hostTlbInhibit = d.hostTlbInhibit;
        vp.allRegisters.forEach((regs, vtl) => {
          regs.values.clear();
          for (const [name, value] of d.registers[vtl]!) regs.set(name, value);
          regs.initialContext = d.initialContexts[vtl];
        });
      }
      // A restored lock must gate flushes as the saved one did.
      for (const vp of state.vps) state.refreshTlbLock(vp.index);
    },
  };
  return part;
}

function readVp(raw: Fields, where: string, maximumVtl: number, vtlMask: number): VpData {
  const o = readSnapshotObject(raw, where, [
    'activeVtl',
    'enabledVtls',
    'callStack',
    'hostTlbInhibit',
    'vtls',
  ]);
  const activeVtl = readSnapshotInt(o.activeVtl, `${where}.activeVtl`, 0, maximumVtl);
  const enabledVtls = readSnapshotInt(o.enabledVtls, `${where}.enabledVtls`, 0, vtlMask);
  if (!Array.isArray(o.callStack)) throw new SnapshotError(`${where}.callStack: expected an array of VTLs`);
  const callStack = o.callStack.map((v, i) => readSnapshotInt(v, `${where}.callStack[${i}]`, 0, maximumVtl));
  if (!Array.isArray(o.vtls) || o.vtls.length !== maximumVtl + 1) {
    throw new SnapshotError(`${where}.vtls: expected ${maximumVtl + 1} register files, one per VTL`);
  }
  const registers: Map<number, bigint>[] = [];
  const initialContexts: (Uint8Array | undefined)[] = [];
  o.vtls.forEach((rawVtl, vtl) => {
    const at = `${where}.vtls[${vtl}]`;
    const v = readSnapshotObject(rawVtl, at, ['registers', 'initialContext']);
    const regs = new Map<number, bigint>();
    for (const [name, value] of Object.entries(readSnapshotObject(v.registers, `${at}.registers`))) {
      if (!/^0x(0|[1-9a-f][0-9a-f]{0,7})$/.test(name))
        throw new SnapshotError(`${at}.registers["${showSnapshotText(name)}"]: not a register name (0x…)`);
      regs.set(Number(name), readSnapshotU64(value, `${at}.registers["${name}"]`));
    }
    registers.push(regs);
    if (v.initialContext === null || v.initialContext === undefined) initialContexts.push(undefined);
    else initialContexts.push(readSnapshotBase64(v.initialContext, `${at}.initialContext`, CONTEXT_BYTES));
  });
  return {
    activeVtl,
    enabledVtls,
    callStack,
    hostTlbInhibit: readSnapshotBoolean(o.hostTlbInhibit, `${where}.hostTlbInhibit`),
    registers,
    initialContexts,
  };
}
