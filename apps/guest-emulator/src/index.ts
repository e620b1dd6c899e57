export { guestImageUrl } from './image-url.js';
export { type KernelCpuReport, type KernelOptions, runKernel } from './kernel.js';
export * from './layout.js';
