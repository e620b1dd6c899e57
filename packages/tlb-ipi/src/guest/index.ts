// Filled by the tlb-ipi guest work in progress.
export {};
