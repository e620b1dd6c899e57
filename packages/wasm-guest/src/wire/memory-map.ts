/**
 * Where a wasm guest's pieces live in guest RAM (GPA = wasm address). From the bottom:
 *
 *   [0, 1 MiB)          low RAM, left to the guest's own pages (hypercall input/output pages,
 *                       SynIC message and event pages, ...), as a kernel leaves its first MiB
 *   [1 MiB, +image)     what wasm-ld links from `--global-base=1048576`: data, bss (and its own
 *                       stack if any: no vCPU uses it)
 *   one block per vCPU  its TLS block, its Asyncify save area, its stack (top at the block's end)
 *   page allocator      4 KiB pages up to the reserved top
 *   reserved top        e.g. arm64's stolen-time records in the top 64 KiB
 *
 * Wasm has no guard pages: a stack that overflows runs first into its own save area, which is idle
 * while its vCPU runs (Asyncify writes it at an unwind and reads it back at the rewind), then into
 * its own TLS; only past both does it reach the vCPU below.
 */
import { MAX_GUEST_MEMORY_BYTES, wasmGuestRamError } from '@pvlab/hypercall';
import { formatBytes, KIB, MIB, roundUp, WASM_GUEST_PAGE_BYTES } from './sizes.js';

/** The first MiB is the guest's own: the image is linked above it (`--global-base=1048576`). */
export const WASM_GUEST_IMAGE_BASE = 1 * MIB;

/**
 * A vCPU's stack: 16 KiB, Linux's x86-64 kernel stack (THREAD_SIZE since 3.15), which the
 * enlightenment code these guests run is written to fit.
 */
export const WASM_GUEST_DEFAULT_STACK_BYTES = 16 * KIB;

/**
 * A vCPU's TLS block (`__wasm_init_tls`): one page. Kernel code keeps per-CPU data in per-CPU
 * areas (`alloc_percpu`, from the page allocator), so `_Thread_local` data stays a few words.
 */
export const WASM_GUEST_DEFAULT_TLS_BYTES = 4 * KIB;

/**
 * A vCPU's Asyncify save area, its `{current, end}` header included: 8 KiB. An unwind saves the
 * live wasm locals of every frame on the call path (not the linear-memory stack): 8 KiB holds
 * ~20 frames of ~50 live 8-byte locals, more than a kernel call path from `guest_main` to an
 * import keeps.
 */
export const WASM_GUEST_DEFAULT_SAVE_AREA_BYTES = 8 * KIB;

/** The Asyncify data header: `current` then `end`, two little-endian i32 GPAs. */
export const ASYNCIFY_HEADER_BYTES = 8;

/** The most vCPUs a map takes: one page each already fills 4 GiB. */
export const WASM_GUEST_MAX_VCPUS = 1 << 20;

/** No area can be larger than RAM can be. */
const MAX_AREA_BYTES = MAX_GUEST_MEMORY_BYTES;

/** What a wasm guest's memory map is built from. Sizes are in bytes; areas round up to 4 KiB. */
export interface WasmGuestMemoryMapOptions {
  /** Guest RAM: a multiple of 64 KiB up to 4 GiB (`wasmGuestRamError`). */
  readonly ramBytes: number;
  /** vCPUs: each gets a stack, a TLS block and a save area. */
  readonly vcpus: number;
  /** The linked image's extent above its base (data and bss end minus 1 MiB). */
  readonly imageBytes: number;
  /** Per-vCPU TLS block; default `WASM_GUEST_DEFAULT_TLS_BYTES`. */
  readonly tlsBytes?: number;
  /** Per-vCPU stack; default `WASM_GUEST_DEFAULT_STACK_BYTES`. */
  readonly stackBytes?: number;
  /** Per-vCPU Asyncify save area with its header; default `WASM_GUEST_DEFAULT_SAVE_AREA_BYTES`. */
  readonly saveAreaBytes?: number;
  /** RAM kept out of the page allocator at the top (arm64: 64 KiB of stolen-time records); default 0. */
  readonly reservedTopBytes?: number;
}

/** `[gpa, gpa + bytes)` of guest RAM. */
export interface WasmGuestRegion {
  readonly gpa: number;
  readonly bytes: number;
}

/** A vCPU's three areas. */
export interface WasmGuestVcpuAreas {
  readonly cpu: number;
  /** Its `__wasm_init_tls` block. */
  readonly tls: WasmGuestRegion;
  /**
   * Its Asyncify data: the `{current, end}` header at `gpa`, the buffer from `bufferStart`
   * (what `current` is set to before an unwind) to `bufferEnd` (= `end`, the region's end).
   */
  readonly saveArea: WasmGuestRegion & { readonly bufferStart: number; readonly bufferEnd: number };
  /** Its stack: it grows down from `top` (16-byte aligned, the initial `__stack_pointer`) to `gpa`. */
  readonly stack: WasmGuestRegion & { readonly top: number };
}

/** A wasm guest's memory map: plain data, every number a GPA or size below 4 GiB. */
export interface WasmGuestMemoryMap {
  readonly ramBytes: number;
  readonly vcpus: number;
  /** `[0, 1 MiB)`: the guest's own pages. */
  readonly lowRam: WasmGuestRegion;
  /** The image at 1 MiB, rounded up to 4 KiB. */
  readonly image: WasmGuestRegion;
  /** All vCPU blocks: `vcpus` blocks of `vcpuStride` bytes, vCPU n's at `gpa + n * vcpuStride`. */
  readonly vcpuBlocks: WasmGuestRegion;
  readonly vcpuStride: number;
  /** Per vCPU, in order. */
  readonly vcpu: readonly WasmGuestVcpuAreas[];
  /** The page allocator's pages (`bytes / 4096` of them, possibly none). */
  readonly pages: WasmGuestRegion;
  /** The top of RAM kept out of the page allocator (possibly empty). */
  readonly reservedTop: WasmGuestRegion;
}

/** A memory map refused: its message is one line naming the values and what is accepted. */
export class WasmGuestMapError extends RangeError {
  override readonly name = 'WasmGuestMapError';
  /**
   * For a map that does not fit: the least RAM (a multiple of 64 KiB) that holds it; otherwise
   * `undefined`.
   */
  readonly minRamBytes: number | undefined;

  constructor(message: string, minRamBytes?: number) {
    super(message);
    this.minRamBytes = minRamBytes;
  }
}

function checkInteger(what: string, value: number, min: number, max: number): void {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new WasmGuestMapError(`${what} ${value} is not accepted: use a whole number from ${min} to ${max}`);
  }
}

const plural = (n: number, one: string) => `${n} ${one}${n === 1 ? '' : 's'}`;

/**
 * The memory map of a wasm guest on `vcpus` vCPUs in `ramBytes` of RAM, or a `WasmGuestMapError`
 * when a value is not accepted or the regions do not fit.
 */
export function wasmGuestMemoryMap(options: WasmGuestMemoryMapOptions): WasmGuestMemoryMap {
  const {
    ramBytes,
    vcpus,
    imageBytes,
    tlsBytes = WASM_GUEST_DEFAULT_TLS_BYTES,
    stackBytes = WASM_GUEST_DEFAULT_STACK_BYTES,
    saveAreaBytes = WASM_GUEST_DEFAULT_SAVE_AREA_BYTES,
    reservedTopBytes = 0,
  } = options;
  const ramError = wasmGuestRamError(ramBytes);
  if (ramError !== null) throw new WasmGuestMapError(ramError);
  checkInteger('vcpus', vcpus, 1, WASM_GUEST_MAX_VCPUS);
  checkInteger('imageBytes', imageBytes, 0, MAX_AREA_BYTES);
  checkInteger('tlsBytes', tlsBytes, 0, MAX_AREA_BYTES);
  checkInteger('stackBytes', stackBytes, 16, MAX_AREA_BYTES);
  checkInteger('saveAreaBytes', saveAreaBytes, ASYNCIFY_HEADER_BYTES + 1, MAX_AREA_BYTES);
  checkInteger('reservedTopBytes', reservedTopBytes, 0, MAX_AREA_BYTES);

  const image = roundUp(imageBytes, WASM_GUEST_PAGE_BYTES);
  const tls = roundUp(tlsBytes, WASM_GUEST_PAGE_BYTES);
  const save = roundUp(saveAreaBytes, WASM_GUEST_PAGE_BYTES);
  const stack = roundUp(stackBytes, WASM_GUEST_PAGE_BYTES);
  const reserved = roundUp(reservedTopBytes, WASM_GUEST_PAGE_BYTES);
  const stride = tls + save + stack;
  const fixed = WASM_GUEST_IMAGE_BASE + image + reserved;
  // Far above 2^53 the product loses precision, but only where it is far above 4 GiB anyway.
  const needed = fixed + vcpus * stride;
  if (needed > ramBytes) {
    const minRam = roundUp(needed, 64 * KIB);
    const fits = Math.max(0, Math.floor((ramBytes - fixed) / stride));
    const parts = [
      `${formatBytes(WASM_GUEST_IMAGE_BASE)} low RAM`,
      `${formatBytes(image)} image`,
      `${vcpus} × ${formatBytes(stride)} per vCPU`,
      ...(reserved > 0 ? [`${formatBytes(reserved)} reserved at the top`] : []),
    ];
    const room = fits > 0 ? `holds at most ${plural(fits, 'vCPU')}` : 'holds not even one vCPU';
    throw new WasmGuestMapError(
      `a wasm guest on ${plural(vcpus, 'vCPU')} needs at least ${formatBytes(minRam)} of RAM (${minRam} bytes: ${parts.join(', ')}): ${formatBytes(ramBytes)} of RAM ${room} with this image`,
      minRam,
    );
  }

  const blocksGpa = WASM_GUEST_IMAGE_BASE + image;
  const vcpu: WasmGuestVcpuAreas[] = [];
  for (let cpu = 0; cpu < vcpus; cpu++) {
    const base = blocksGpa + cpu * stride;
    const saveGpa = base + tls;
    const stackGpa = saveGpa + save;
    vcpu.push({
      cpu,
      tls: { gpa: base, bytes: tls },
      saveArea: {
        gpa: saveGpa,
        bytes: save,
        bufferStart: saveGpa + ASYNCIFY_HEADER_BYTES,
        bufferEnd: saveGpa + save,
      },
      stack: { gpa: stackGpa, bytes: stack, top: stackGpa + stack },
    });
  }
  const pagesGpa = blocksGpa + vcpus * stride;
  const reservedGpa = ramBytes - reserved;
  return {
    ramBytes,
    vcpus,
    lowRam: { gpa: 0, bytes: WASM_GUEST_IMAGE_BASE },
    image: { gpa: WASM_GUEST_IMAGE_BASE, bytes: image },
    vcpuBlocks: { gpa: blocksGpa, bytes: vcpus * stride },
    vcpuStride: stride,
    vcpu,
    pages: { gpa: pagesGpa, bytes: reservedGpa - pagesGpa },
    reservedTop: { gpa: reservedGpa, bytes: reserved },
  };
}
