/* pvlab Linux shim (MIT, ours): <acpi/acpi_numa.h>, <linux/numa.h>: one NUMA node, proximity
 * domain 0. */
#ifndef PVLAB_SHIM_ACPI_ACPI_NUMA_H
#define PVLAB_SHIM_ACPI_ACPI_NUMA_H

#define NUMA_NO_NODE (-1)
static inline int node_to_pxm(int node) { return node < 0 ? -1 : 0; }

#endif
