/** 64 KiB of RAM (16 pages, GPA 0x0 .. 0xFFFF): room for the pages below and a few buffers. */
export const TEST_RAM_BYTES = 0x1_0000;
/** Where `enableTestHypercalls` maps the hypercall page unless told otherwise. */
export const HYPERCALL_PAGE_GPA = 0x1000n;
/** Where `rawCall` lays out a memory-form input list unless told otherwise. */
export const INPUT_GPA = 0x2000n;
/** Where `rawCall` points a memory-form call's output unless told otherwise. */
export const OUTPUT_GPA = 0x3000n;
/** Linux's GUEST_OS_ID for kernel 0 — spec 01: `0x8100 << 48 | kernel_version << 16`. */
export const LINUX_GUEST_OS_ID = 0x8100n << 48n;
