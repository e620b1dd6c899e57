import { HvFeature, type HvFeatureName, hvCallName } from '@pvlab/hypercall';
import { createVm } from './vm.js';

/** `pvlab-host info --arch arm64`: the SMCCC functions the conduit answers. */
function arm64Info(opts: { vcpus: number; json?: boolean }, print: (line: string) => void): void {
  const vm = createVm({ vcpus: opts.vcpus, arch: 'arm64' });
  const functions = vm.smcccFunctions();
  vm.close();
  if (opts.json) {
    print(JSON.stringify({ arch: 'arm64', packages: ['pv-time'], smccc: functions }, null, 2));
    return;
  }
  print('SMCCC functions (HVC conduit; unknown ids answer NOT_SUPPORTED = 0xFFFFFFFFFFFFFFFF):');
  for (const f of functions) print(`  ${f.id} ${f.name}`);
}

/** `pvlab-host info`: what a VM exposes — CPUID leaves, feature bits, registered hypercalls. */
export function infoCommand(
  opts: { vcpus: number; arch?: 'x64' | 'arm64'; json?: boolean },
  print: (line: string) => void,
): void {
  if (opts.arch === 'arm64') {
    arm64Info(opts, print);
    return;
  }
  const vm = createVm({ vcpus: opts.vcpus });
  const leaves = Array.from({ length: vm.cpuid(0x4000_0000).eax - 0x4000_0000 + 1 }, (_, i) => {
    const leaf = 0x4000_0000 + i;
    return { leaf: `0x${leaf.toString(16)}`, ...vm.cpuid(leaf) };
  });
  const features = vm.partition.features.exposed();
  const hypercalls = vm.partition.dispatcher.descriptors().map((d) => ({
    code: `0x${d.code.toString(16).padStart(4, '0')}`,
    name: d.name ?? hvCallName(d.code),
    kind: d.kind,
    fast: d.fast ?? 'none',
    gate: d.gate?.description ?? '-',
  }));
  const packages = vm.partition.packages;
  vm.close();
  if (opts.json) {
    print(JSON.stringify({ packages, leaves, features, hypercalls }, null, 2));
    return;
  }
  const hex = (n: number) => `0x${n.toString(16).padStart(8, '0')}`;
  print('CPUID leaf   EAX        EBX        ECX        EDX');
  for (const l of leaves)
    print(`${l.leaf.padEnd(12)} ${hex(l.eax)} ${hex(l.ebx)} ${hex(l.ecx)} ${hex(l.edx)}`);
  print(`\npackages: ${packages.join(', ')}`);
  print('\nexposed features:');
  for (const f of features) {
    const bit = HvFeature[f as HvFeatureName];
    print(`  ${f.padEnd(28)} CPUID 0x${bit.leaf.toString(16)} ${bit.register.toUpperCase()} bit ${bit.bit}`);
  }
  print('\nhypercalls:');
  for (const h of hypercalls)
    print(`  ${h.code} ${h.name.padEnd(28)} ${h.kind.padEnd(6)} fast=${h.fast.padEnd(8)} gate: ${h.gate}`);
}
