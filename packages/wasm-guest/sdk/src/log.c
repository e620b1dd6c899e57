/*
 * Formatted output (@pvlab/wasm-guest, MIT): a small vsnprintf (no floating point), and the log
 * and fail calls built on it. The text is formatted here, in C; the runtime only gets bytes.
 */
#include <pvlab/guest.h>

/* Where the output goes: at most size - 1 bytes and a NUL; `len` counts everything. */
struct out {
  char *buf;
  size_t size;
  size_t len;
};

static void put(struct out *o, char c) {
  if (o->len + 1 < o->size) o->buf[o->len] = c;
  o->len++;
}

static void pad(struct out *o, char c, int n) {
  while (n-- > 0) put(o, c);
}

enum { LEFT = 1, ZERO = 2, PLUS = 4, SPACE = 8, ALT = 16 };

/* One integer: sign, prefix, precision's zeros, width's padding, as C's printf does. */
static void number(struct out *o, uint64_t v, bool negative, unsigned base, bool upper, int flags, int width,
                   int precision) {
  const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  char tmp[24];
  int n = 0;
  if (v == 0 && precision == 0) n = 0;
  else {
    do {
      tmp[n++] = digits[v % base];
      v /= base;
    } while (v != 0);
  }
  const char *prefix = "";
  if (negative) prefix = "-";
  else if (flags & PLUS) prefix = "+";
  else if (flags & SPACE) prefix = " ";
  if ((flags & ALT) && base == 16 && n > 0 && !(n == 1 && tmp[0] == '0')) prefix = upper ? "0X" : "0x";
  if ((flags & ALT) && base == 8 && (n == 0 || tmp[n - 1] != '0') && precision <= n) precision = n + 1;
  int prefix_len = (int)__pvlab_strlen(prefix);
  int zeros = precision > n ? precision - n : 0;
  int fill = width - prefix_len - zeros - n;
  if ((flags & ZERO) && !(flags & LEFT) && precision < 0) {
    zeros += fill > 0 ? fill : 0;
    fill = 0;
  }
  if (!(flags & LEFT)) pad(o, ' ', fill);
  for (const char *p = prefix; *p != 0; p++) put(o, *p);
  pad(o, '0', zeros);
  while (n > 0) put(o, tmp[--n]);
  if (flags & LEFT) pad(o, ' ', fill);
}

static void text(struct out *o, const char *s, int flags, int width, int precision) {
  if (s == NULL) s = "(null)";
  int n = 0;
  while (s[n] != 0 && (precision < 0 || n < precision)) n++;
  if (!(flags & LEFT)) pad(o, ' ', width - n);
  for (int i = 0; i < n; i++) put(o, s[i]);
  if (flags & LEFT) pad(o, ' ', width - n);
}

static int atoi_step(const char **f) {
  int n = 0;
  while (**f >= '0' && **f <= '9') n = n * 10 + (*(*f)++ - '0');
  return n;
}

int pvlab_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap) {
  struct out o = {buf, size, 0};
  for (const char *f = fmt; *f != 0; f++) {
    if (*f != '%') {
      put(&o, *f);
      continue;
    }
    const char *start = f++;
    int flags = 0;
    for (;; f++) {
      if (*f == '-') flags |= LEFT;
      else if (*f == '0') flags |= ZERO;
      else if (*f == '+') flags |= PLUS;
      else if (*f == ' ') flags |= SPACE;
      else if (*f == '#') flags |= ALT;
      else break;
    }
    int width = 0;
    if (*f == '*') {
      width = va_arg(ap, int);
      if (width < 0) {
        flags |= LEFT;
        width = -width;
      }
      f++;
    } else width = atoi_step(&f);
    int precision = -1;
    if (*f == '.') {
      f++;
      if (*f == '*') {
        precision = va_arg(ap, int);
        f++;
      } else precision = atoi_step(&f);
    }
    /* Length: 0 int, 1 long, 2 long long, -1 short, -2 char; size_t, ptrdiff_t and intmax_t map onto these. */
    int length = 0;
    if (*f == 'h') length = (*++f == 'h') ? (f++, -2) : -1;
    else if (*f == 'l') length = (*++f == 'l') ? (f++, 2) : 1;
    else if (*f == 'z' || *f == 't') f++, length = sizeof(size_t) == sizeof(long long) ? 2 : 1;
    else if (*f == 'j') f++, length = 2;
    char c = *f;
    if (c == 'd' || c == 'i') {
      int64_t v = length == 2 ? va_arg(ap, long long) : length == 1 ? va_arg(ap, long) : va_arg(ap, int);
      if (length == -1) v = (short)v;
      if (length == -2) v = (signed char)v;
      number(&o, v < 0 ? 0 - (uint64_t)v : (uint64_t)v, v < 0, 10, false, flags, width, precision);
    } else if (c == 'u' || c == 'x' || c == 'X' || c == 'o') {
      uint64_t v = length == 2   ? va_arg(ap, unsigned long long)
                   : length == 1 ? va_arg(ap, unsigned long)
                                 : va_arg(ap, unsigned int);
      if (length == -1) v = (unsigned short)v;
      if (length == -2) v = (unsigned char)v;
      unsigned base = c == 'u' ? 10 : c == 'o' ? 8 : 16;
      number(&o, v, false, base, c == 'X', flags & ~(PLUS | SPACE), width, precision);
    } else if (c == 'p') {
      number(&o, (uintptr_t)va_arg(ap, void *), false, 16, false, (flags & LEFT) | ALT, width, precision);
    } else if (c == 'c') {
      char ch = (char)va_arg(ap, int);
      if (!(flags & LEFT)) pad(&o, ' ', width - 1);
      put(&o, ch);
      if (flags & LEFT) pad(&o, ' ', width - 1);
    } else if (c == 's') {
      text(&o, va_arg(ap, const char *), flags, width, precision);
    } else if (c == '%') {
      put(&o, '%');
    } else {
      /* Not a conversion this printf knows: print it as written. */
      for (const char *p = start; p <= f && *p != 0; p++) put(&o, *p);
      if (c == 0) break;
    }
  }
  if (size > 0) buf[o.len < size ? o.len : size - 1] = 0;
  return (int)o.len;
}

int pvlab_snprintf(char *buf, size_t size, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = pvlab_vsnprintf(buf, size, fmt, ap);
  va_end(ap);
  return n;
}

enum { LINE_BYTES = 512 };

void pvlab_log(const char *fmt, ...) {
  char line[LINE_BYTES];
  va_list ap;
  va_start(ap, fmt);
  int n = pvlab_vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  __pvlab_import_log(__pvlab_addr(line), n < LINE_BYTES ? n : LINE_BYTES - 1);
  __pvlab_after_exit();
}

_Noreturn void pvlab_fail(const char *fmt, ...) {
  char line[LINE_BYTES];
  va_list ap;
  va_start(ap, fmt);
  int n = pvlab_vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  __pvlab_import_fail(__pvlab_addr(line), n < LINE_BYTES ? n : LINE_BYTES - 1);
}
