/* pvlab Linux shim (MIT, ours): forwards to the tree's own header, compiled as it is. */
#include <arch/x86/include/asm/hyperv-tlfs.h>
