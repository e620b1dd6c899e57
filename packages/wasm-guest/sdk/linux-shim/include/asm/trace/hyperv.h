/* pvlab Linux shim (MIT, ours): the Hyper-V tracepoints (<asm/trace/hyperv.h>) as no-ops. */
#ifndef PVLAB_SHIM_ASM_TRACE_HYPERV_H
#define PVLAB_SHIM_ASM_TRACE_HYPERV_H

#define trace_hyperv_mmu_flush_tlb_multi(...) do { } while (0)
#define trace_hyperv_nested_flush_guest_mapping(...) do { } while (0)
#define trace_hyperv_nested_flush_guest_mapping_range(...) do { } while (0)
#define trace_hyperv_send_ipi_mask(...) do { } while (0)
#define trace_hyperv_send_ipi_one(...) do { } while (0)

#endif
