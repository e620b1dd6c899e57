export { GuestFault, isGuestFault } from '@pvlab/hypercall';
export type { Diagnostic, HypercallDescriptor } from '@pvlab/hypercall/host';
export { type DemoCallSummary, type DemoReport, formatCallSummary, runDirectDemo } from './demo.js';
export { type CreateVmOptions, MAX_VCPUS, type ResolvedVmOptions, VmOptionError } from './options.js';
export { OPTIONAL_PACKAGES } from './packages.js';
export { type CliOutput, runPvlabHost } from './program.js';
export { ConformanceError, createVm, VirtualProcessor, Vm } from './vm.js';
