/** A conformance diagnostic: guest behaviour the spec forbids that a real hypervisor may tolerate. */
export interface Diagnostic {
  /** Spec rule id, e.g. `spec01.rule6.overlap`. */
  readonly rule: string;
  readonly vp: number;
  readonly message: string;
}
