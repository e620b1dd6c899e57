/* pvlab Linux shim (MIT, ours): forwards to the tree's own header, compiled as it is. */
#include <include/asm-generic/mshyperv.h>
