// A worker thread running one vCPU's instance of the alloc guest over the shared memory, set up
// by hand as the runtime does (own stack, own TLS, vcpu_info): it waits for the start signal,
// then drains the page allocator at the same time as the other workers.
import { parentPort, workerData } from 'node:worker_threads';

const { module, memory, stackTop, tlsGpa, info, outGpa, max, go } = workerData;
const view = new DataView(memory.buffer);
const pvlab = {};
for (const i of WebAssembly.Module.imports(module)) if (i.kind === 'function') pvlab[i.name] = () => {};
pvlab.vcpu_info = (ptr) => {
  for (const [k, v] of info.entries()) view.setUint32(ptr + 4 * k, v, true);
};
pvlab.take_interrupt = () => -1;
pvlab.fail = () => {
  throw new Error('the guest failed');
};
const { exports } = new WebAssembly.Instance(module, { env: { memory }, pvlab });
exports.__stack_pointer.value = stackTop;
exports.__wasm_init_tls(tlsGpa);
exports.pvlab_init_vcpu();
const flag = new Int32Array(go);
parentPort.postMessage('ready');
Atomics.wait(flag, 0, 0);
parentPort.postMessage(exports.drain(outGpa, max));
