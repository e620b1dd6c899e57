/* Test guests export C functions for the tests to call on each vCPU. */
#include <pvlab/guest.h>
#define EXPORT(name) __attribute__((export_name(#name), noinline))
