import { HvFeature, type HvFeatureName, MAX_GUEST_MEMORY_BYTES } from '@pvlab/hypercall';
import { DEFAULT_SPIN_WAIT_RETRY_COUNT } from '@pvlab/hypercall/host';
import { CONVERSION_CONTENTS, type ConversionContents } from '@pvlab/isolation/host';
import { TLB_FLUSH_MODES, type TlbFlushMode } from '@pvlab/tlb-ipi/host';
import { z } from 'zod';
import { formatOptionIssue } from './option-errors.js';
import { OPTIONAL_PACKAGES, PACKAGE_ARCH } from './package-names.js';

/** Bad `createVm` options (or CLI flags): the message names the option and what is accepted. */
export class VmOptionError extends Error {
  override readonly name = 'VmOptionError';
}

/** The most VPs a partition may have: 64 banks of 64 (HV_VP_SET's limit). */
export const MAX_VCPUS = 4096;
const PAGE = 4096;

const featureNames = Object.keys(HvFeature) as [HvFeatureName, ...HvFeatureName[]];

const schema = z
  .object({
    vcpus: z.number().int().min(1).max(MAX_VCPUS).default(1),
    memoryBytes: z
      .number()
      .int()
      .min(PAGE)
      .max(MAX_GUEST_MEMORY_BYTES)
      .multipleOf(PAGE)
      .describe(`a multiple of ${PAGE} from ${PAGE} to ${MAX_GUEST_MEMORY_BYTES} (4 GiB)`)
      .default(16 * 1024 * 1024),
    arch: z.enum(['x64', 'arm64']).default('x64'),
    vendor: z.enum(['intel', 'amd']).default('intel'),
    strict: z.boolean().default(true),
    packages: z
      .record(z.string(), z.boolean())
      .superRefine((packages, ctx) => {
        for (const name of Object.keys(packages)) {
          if (!OPTIONAL_PACKAGES.includes(name)) {
            const accepted =
              OPTIONAL_PACKAGES.length > 0
                ? OPTIONAL_PACKAGES.join(', ')
                : 'none yet (the core cannot be dropped)';
            ctx.addIssue({ code: 'custom', path: [name], message: `unknown package; accepted: ${accepted}` });
          }
        }
      })
      .default({}),
    features: z.partialRecord(z.enum(featureNames), z.boolean()).default({}),
    spinWaitRetryCount: z.number().int().min(0).max(0xffff_ffff).default(DEFAULT_SPIN_WAIT_RETRY_COUNT),
    maxRepsPerCall: z.number().int().min(1).max(0xfff).default(0xfff),
    physicalAddressBits: z.number().int().min(32).max(52).default(48),
    isolation: z
      .object({
        sharedGpaBoundaryBits: z.number().int().min(12).max(63),
        isolationType: z.enum(['NONE', 'VBS', 'SNP', 'TDX']).optional(),
        paravisorPresent: z.boolean().optional(),
        sharedGpaBoundaryActive: z.boolean().optional(),
        readOnlyVisibility: z.enum(['accept', 'refuse']).optional(),
        conversion: z.enum(CONVERSION_CONTENTS as [ConversionContents, ...ConversionContents[]]).optional(),
        seed: z.number().int().min(0).max(0xffff_ffff).optional(),
      })
      .strict()
      .optional(),
    hostileHost: z
      .object({ seed: z.number().int().min(0).max(0xffff_ffff), rate: z.number().min(0).max(1).optional() })
      .strict()
      .optional(),
    tlbFlush: z.enum(TLB_FLUSH_MODES as [TlbFlushMode, ...TlbFlushMode[]]).default('precise'),
  })
  .strict()
  .superRefine((o, ctx) => {
    for (const name of Object.keys(o.packages)) {
      const arch = PACKAGE_ARCH[name];
      if (arch !== undefined && arch !== o.arch && o.packages[name] === true) {
        ctx.addIssue({
          code: 'custom',
          path: ['packages', name],
          message: `is a package of ${arch} VMs, and arch is '${o.arch}'`,
        });
      }
    }
    if (o.isolation !== undefined) {
      const boundary = 2 ** o.isolation.sharedGpaBoundaryBits;
      const where = ['isolation', 'sharedGpaBoundaryBits'];
      if (o.arch !== 'x64') {
        ctx.addIssue({
          code: 'custom',
          path: where,
          message: "isolation VMs are x64 here (the Hyper-V vTOM model); arch is 'arm64'",
        });
      } else if (boundary < o.memoryBytes) {
        ctx.addIssue({
          code: 'custom',
          path: where,
          message: `the boundary 2^${o.isolation.sharedGpaBoundaryBits} is below the end of RAM (memoryBytes ${o.memoryBytes}): use at least ${Math.ceil(Math.log2(o.memoryBytes))}`,
        });
      } else if (boundary + o.memoryBytes > 2 ** o.physicalAddressBits) {
        ctx.addIssue({
          code: 'custom',
          path: where,
          message: `the shared alias window [2^${o.isolation.sharedGpaBoundaryBits}, +RAM) does not fit in physicalAddressBits ${o.physicalAddressBits}: use at most ${o.physicalAddressBits - 1}`,
        });
      }
    }
    if (o.hostileHost !== undefined && (o.arch !== 'x64' || o.packages['vmbus-ring'] === false)) {
      ctx.addIssue({
        code: 'custom',
        path: ['hostileHost'],
        message: 'the hostile host tampers with VMBus rings: it needs an x64 VM with the vmbus-ring package',
      });
    }
    if (o.tlbFlush !== 'precise' && o.arch === 'arm64') {
      ctx.addIssue({
        code: 'custom',
        path: ['tlbFlush'],
        message: "is an x64 option (the tlb-ipi hypercalls), and arch is 'arm64'",
      });
    }
    if (o.tlbFlush !== 'precise' && o.packages['tlb-ipi'] === false) {
      ctx.addIssue({
        code: 'custom',
        path: ['tlbFlush'],
        message: 'is a tlb-ipi option, but packages.tlb-ipi is false',
      });
    }
  });

/** `createVm` options as the user writes them. */
export type CreateVmOptions = z.input<typeof schema>;
/** `createVm` options with every default applied. */
export type ResolvedVmOptions = z.output<typeof schema>;

/** Validates options; the first problem becomes one line naming the option, its value and what is accepted. */
export function resolveVmOptions(options: unknown): ResolvedVmOptions {
  const parsed = schema.safeParse(options ?? {});
  if (parsed.success) return parsed.data;
  throw new VmOptionError(formatOptionIssue(schema, options ?? {}, parsed.error.issues[0]!));
}
