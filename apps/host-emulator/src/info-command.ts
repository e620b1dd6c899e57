import { HvFeature, type HvFeatureName, hvCallName } from '@pvlab/hypercall';
import { alignColumns } from './table.js';
import { pvlabVersions, versionsLine } from './versions.js';
import { createVm, type Vm } from './vm.js';
import { type VmFlags, vmOptionsFromFlags } from './vm-flags.js';
import { vmInternals } from './vm-internals.js';

/** `pvlab-host info` flags: the VM to describe, shaped as `run` shapes it. */
export interface InfoCommandOptions extends VmFlags {
  readonly vcpus: number;
  readonly arch?: 'x64' | 'arm64';
  /** An isolation VM with its shared GPA boundary at 2^isolation. */
  readonly isolation?: number;
  readonly json?: boolean;
}

/** One line naming the VM's shape: what the flags changed is visible before the tables. */
function vmLine(vm: Vm): string {
  const o = vm.options;
  const parts = [
    `${o.arch}`,
    `${vm.vcpus} vCPU${vm.vcpus === 1 ? '' : 's'}`,
    `${o.memoryBytes} bytes of RAM`,
    ...(o.arch === 'x64' ? [`tlbFlush ${o.tlbFlush}`, `maxRepsPerCall ${o.maxRepsPerCall}`] : []),
    ...(o.isolation ? [`isolation: shared GPA boundary 2^${o.isolation.sharedGpaBoundaryBits}`] : []),
  ];
  return `VM: ${parts.join(', ')}`;
}

/** `pvlab-host info --arch arm64`: the SMCCC functions the conduit answers. */
function arm64Info(vm: Vm, json: boolean, print: (line: string) => void): void {
  const functions = vmInternals(vm).smcccFunctions();
  const options = vm.options;
  const vcpus = vm.vcpus;
  const packages = options.packages['pv-time'] === false ? [] : ['pv-time'];
  const line = vmLine(vm);
  vm.close();
  const versions = pvlabVersions();
  if (json) {
    print(JSON.stringify({ arch: 'arm64', vcpus, options, packages, smccc: functions, versions }, null, 2));
    return;
  }
  print(line);
  print(`versions: ${versionsLine(versions)}`);
  print(`packages: ${packages.join(', ') || '-'}`);
  print('\nSMCCC functions (HVC conduit; unknown ids answer NOT_SUPPORTED = 0xFFFFFFFFFFFFFFFF):');
  for (const l of alignColumns(
    functions.map((f) => [f.id, f.name]),
    [],
    '  ',
  ))
    print(l);
}

/** `pvlab-host info`: what a VM exposes — CPUID leaves, feature bits, registered hypercalls. */
export function infoCommand(opts: InfoCommandOptions, print: (line: string) => void): void {
  const vm = createVm({
    ...vmOptionsFromFlags(opts),
    vcpus: opts.vcpus,
    ...(opts.arch === undefined ? {} : { arch: opts.arch }),
    ...(opts.isolation === undefined ? {} : { isolation: { sharedGpaBoundaryBits: opts.isolation } }),
  }) as Vm;
  if (vm.options.arch === 'arm64') {
    arm64Info(vm, opts.json === true, print);
    return;
  }
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
  const options = vm.options;
  const line = vmLine(vm);
  vm.close();
  const versions = pvlabVersions();
  if (opts.json) {
    print(JSON.stringify({ options, packages, leaves, features, hypercalls, versions }, null, 2));
    return;
  }
  const hex = (n: number) => `0x${n.toString(16).padStart(8, '0')}`;
  print(line);
  print(`versions: ${versionsLine(versions)}`);
  print('');
  const leafRows = leaves.map((l) => [l.leaf, hex(l.eax), hex(l.ebx), hex(l.ecx), hex(l.edx)]);
  for (const l of alignColumns([['CPUID leaf', 'EAX', 'EBX', 'ECX', 'EDX'], ...leafRows])) print(l);
  print(`\npackages: ${packages.join(', ')}`);
  print('\nexposed features:');
  const featureRows = features.map((f) => {
    const bit = HvFeature[f as HvFeatureName];
    return [f, `CPUID 0x${bit.leaf.toString(16)} ${bit.register.toUpperCase()} bit ${bit.bit}`];
  });
  for (const l of alignColumns(featureRows, [], '  ')) print(l);
  print('\nhypercalls:');
  const callRows = hypercalls.map((h) => [h.code, h.name, h.kind, `fast=${h.fast}`, `gate: ${h.gate}`]);
  for (const l of alignColumns(callRows, [], '  ')) print(l);
}
