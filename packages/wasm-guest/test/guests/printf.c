/* pvlab_log's printf subset: one line per case, compared with C's printf in the test. */
#include "exports.h"

/* Unknown conversions and mismatched lengths on purpose: printf must survive them. */
#pragma clang diagnostic ignored "-Wformat"
#pragma clang diagnostic ignored "-Wformat-invalid-specifier"
#pragma clang diagnostic ignored "-Wformat-extra-args"

EXPORT(formats) void formats(void) {
  pvlab_log("%d|%i|%u|%x|%X|%o|%%|%c|%s", -42, 7, 4000000000u, 0xbeef, 0xbeef, 8, 'q', "str");
  pvlab_log("[%5d][%-5d][%05d][%+d][% d][%+05d][%-+5d]", 42, 42, 42, 42, 42, -42, 7);
  pvlab_log("[%lx][%llx][%llu][%lld][%zu][%ld][%lu]", 0xdeadbeefUL, 0x123456789abcdef0ULL,
            18446744073709551615ULL, -9223372036854775807LL - 1, (size_t)12345, -5L, 4294967295UL);
  pvlab_log("[%08x][%#x][%#X][%#o][%#x][%8.3d][%.0d][%.3x]", 0xab, 255, 255, 8, 0, 5, 0, 0xf);
  pvlab_log("[%p][%12p][%-12p]", (void *)0x1000, (void *)0x2a, (void *)0x2a);
  pvlab_log("[%10s][%-10s][%.2s][%*d][%-*d][%.*s]", "right", "left", "cut", 6, 9, 6, 9, 3, "abcdef");
  pvlab_log("[%hhd][%hhu][%hd][%hu][%hx]", 300, 300, 70000, 70000, 0x12345);
  pvlab_log("[%s][%c%c][%5c][%-3c]", (const char *)0, 'a', 'b', 'z', 'y');
  pvlab_log("[%jd][%td][%q][%", (intmax_t)-3, (ptrdiff_t)4);
}

EXPORT(truncation) void truncation(void) {
  char small[8];
  int n = pvlab_snprintf(small, sizeof small, "%d-%s", 12345, "abcdef");
  pvlab_log("%s|%d", small, n);
  n = pvlab_snprintf(NULL, 0, "%08x", 1);
  pvlab_log("%d", n);
  char big[600];
  for (unsigned i = 0; i < sizeof big - 1; i++) big[i] = (char)('a' + i % 26);
  big[sizeof big - 1] = 0;
  pvlab_log("%s", big); /* a line is cut at 511 bytes */
}
