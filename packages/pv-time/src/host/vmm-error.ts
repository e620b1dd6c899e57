/** The errno a KVM vCPU device-attribute ioctl would return. */
export type VmmErrorCode = 'EINVAL' | 'EEXIST' | 'ENXIO';

/**
 * A refused VMM request, as KVM_SET_DEVICE_ATTR would refuse it (spec 06 "KVM VMM interface").
 * The message names the value and what is accepted; `code` is the errno.
 */
export class VmmError extends Error {
  override readonly name = 'VmmError';
  readonly code: VmmErrorCode;

  constructor(code: VmmErrorCode, message: string) {
    super(`${code}: ${message}`);
    this.code = code;
  }
}
