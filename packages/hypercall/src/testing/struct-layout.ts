import type { ByteFieldSpec, ByteFieldType, ByteStruct } from '../wire/byte-struct.js';

function typeName(type: ByteFieldType): string {
  if (typeof type === 'string') return type;
  return 'bytes' in type ? `${type.bytes} B` : type.struct.name;
}

function rows(struct: ByteStruct<readonly ByteFieldSpec[]>, base: number, prefix: string): string[] {
  return [...struct.fields]
    .sort((a, b) => a.offset - b.offset)
    .flatMap((f) => {
      const at = base + f.offset;
      if (typeof f.type === 'object' && 'struct' in f.type)
        return rows(f.type.struct, at, `${prefix}${f.name}.`);
      const rsvd = f.kind === 'reserved-zero' ? ' (RsvdZ)' : '';
      return [`${at}: ${typeName(f.type)} ${prefix}${f.name}${rsvd}`];
    });
}

/**
 * A declared structure in the form of the spec tables, for tests that hold a declaration to its
 * spec row: `0: u64 addressSpace · 8: u64 flags · 16: u64 processorMask (24 B)`. Nested
 * structures are flattened (`16: u64 vpSet.format`), byte arrays read `3 B`, RsvdZ fields end in
 * ` (RsvdZ)`.
 */
export function structLayout(struct: ByteStruct<readonly ByteFieldSpec[]>): string {
  return `${rows(struct, 0, '').join(' · ')} (${struct.size} B)`;
}
