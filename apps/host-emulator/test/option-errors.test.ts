import { fc, test } from '@fast-check/vitest';
import { HvFeature } from '@pvlab/hypercall';
import { describe, expect, it } from 'vitest';
import { createVm, VmOptionError } from '../src/index.ts';

function messageOf(options: unknown): string {
  try {
    createVm(options as never).close();
  } catch (e) {
    expect(e).toBeInstanceOf(VmOptionError);
    return (e as Error).message;
  }
  throw new Error(`createVm(${JSON.stringify(options)}) was accepted`);
}

const FEATURES = Object.keys(HvFeature).join(', ');

describe('createVm option errors name the option, its value and what is accepted', () => {
  it.each<[unknown, string]>([
    [{ vcpus: 0 }, 'createVm option vcpus = 0: accepted: an integer from 1 to 4096 (default 1)'],
    [{ vcpus: 4097 }, 'createVm option vcpus = 4097: accepted: an integer from 1 to 4096 (default 1)'],
    [{ vcpus: 1.5 }, 'createVm option vcpus = 1.5: accepted: an integer from 1 to 4096 (default 1)'],
    [{ vcpus: '2' }, "createVm option vcpus = '2': accepted: an integer from 1 to 4096 (default 1)"],
    [
      { memoryBytes: 8193 },
      'createVm option memoryBytes = 8193: accepted: a multiple of 4096 from 4096 to 4294967296 (4 GiB) (default 16777216)',
    ],
    [{ vendor: 'via' }, "createVm option vendor = 'via': accepted: 'intel', 'amd' (default 'intel')"],
    [{ strict: 'yes' }, "createVm option strict = 'yes': accepted: true or false (default true)"],
    [
      { maxRepsPerCall: 0x1000 },
      'createVm option maxRepsPerCall = 4096: accepted: an integer from 1 to 4095 (default 4095)',
    ],
    [
      { features: { Bogus: false } },
      `createVm option features.Bogus = false: unknown feature; accepted: ${FEATURES}`,
    ],
    [
      { features: { AccessVpIndex: 'off' } },
      "createVm option features.AccessVpIndex = 'off': accepted: true or false",
    ],
    [{ packages: { vtl: 0 } }, 'createVm option packages.vtl = 0: accepted: true or false'],
    [
      { isolation: { sharedGpaBoundaryBits: 40, bits: 1 } },
      'createVm option isolation.bits = 1: unknown option; accepted: sharedGpaBoundaryBits, isolationType, paravisorPresent, sharedGpaBoundaryActive, readOnlyVisibility, conversion, seed',
    ],
    [
      { isolation: {} },
      'createVm option isolation.sharedGpaBoundaryBits is missing; accepted: an integer from 12 to 63',
    ],
    [
      { isolation: { sharedGpaBoundaryBits: 40, isolationType: 'SEV' } },
      "createVm option isolation.isolationType = 'SEV': accepted: 'NONE', 'VBS', 'SNP', 'TDX'",
    ],
    [
      { hostileHost: { seed: 1, rate: 2 } },
      'createVm option hostileHost.rate = 2: accepted: a number from 0 to 1',
    ],
    [
      { bogus: 1, other: 2 },
      "createVm option bogus = 1: unknown option (and 'other'); accepted: vcpus, memoryBytes, arch, vendor, strict, packages, features, spinWaitRetryCount, maxRepsPerCall, physicalAddressBits, isolation, hostileHost, tlbFlush",
    ],
    [
      { vcpus: 'x'.repeat(100) },
      `createVm option vcpus = '${'x'.repeat(38)}…: accepted: an integer from 1 to 4096 (default 1)`,
    ],
  ])('%j', (options, expected) => {
    expect(messageOf(options)).toBe(expected);
  });

  it('a bigint where a number belongs is echoed as a bigint', () => {
    expect(messageOf({ vcpus: 4096n })).toBe(
      'createVm option vcpus = 4096n: accepted: an integer from 1 to 4096 (default 1)',
    );
  });

  it('an options value that is no object says what createVm takes', () => {
    expect(messageOf(5)).toMatch(/^createVm options = 5: accepted: an object with vcpus, memoryBytes, /);
  });

  const optionNames = [
    'vcpus',
    'memoryBytes',
    'arch',
    'vendor',
    'strict',
    'packages',
    'features',
    'spinWaitRetryCount',
    'maxRepsPerCall',
    'physicalAddressBits',
    'isolation',
    'hostileHost',
    'tlbFlush',
  ];
  const junk = fc.oneof(
    fc.string(),
    fc.integer(),
    fc.double(),
    fc.boolean(),
    fc.bigInt(),
    fc.constant(null),
    fc.dictionary(fc.string({ maxLength: 8 }), fc.oneof(fc.string(), fc.integer(), fc.boolean()), {
      maxKeys: 3,
    }),
  );

  it('names a key that is not a plain name escaped, so the path stays one token', () => {
    expect(() => createVm({ features: { ' ': false } } as never)).toThrow(
      /^createVm option features\['\\u0020'\] = false: unknown feature; accepted: AccessHypercallMsrs, /,
    );
    expect(() => createVm({ features: { [`a'b\n${'x'.repeat(100)}`]: true } } as never)).toThrow(
      /^createVm option features\['a\\u0027b\\u000ax{20,}…'\] = true: /,
    );
  });

  test.prop([fc.constantFrom(...optionNames), junk])(
    'any bad value is one line in the README form, never raw zod text',
    (name, value) => {
      let message: string;
      try {
        createVm({ [name]: value } as never).close();
        return;
      } catch (e) {
        expect(e).toBeInstanceOf(VmOptionError);
        message = (e as Error).message;
      }
      expect(message).toMatch(/^createVm option \S+( = .+: | is missing; |: )/);
      expect(message).not.toContain('\n');
      expect(message).not.toMatch(/Too small|Too big|Invalid input|Invalid option|Unrecognized key/);
    },
  );
});
