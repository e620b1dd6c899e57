// Filled by the tlb-ipi host work in progress.
export {};
