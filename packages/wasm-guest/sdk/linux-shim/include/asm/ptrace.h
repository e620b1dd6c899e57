/* pvlab Linux shim (MIT, ours): <asm/ptrace.h>: saved registers only ever travel by pointer here. */
#ifndef PVLAB_SHIM_ASM_PTRACE_H
#define PVLAB_SHIM_ASM_PTRACE_H

struct pt_regs;

#endif
