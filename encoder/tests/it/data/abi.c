struct s16 { long a, b; };
struct s8 { int a, b; };
struct big { long a, b, c; };
struct fl { double d; long x; };
struct __attribute__((packed)) pk { char c; int i; };
/* int and float share the eightbyte: INTEGER class, rdi. */
struct mixed { int tag; float w; };
long f_s16(struct s16 s, long x) { return s.a + s.b + x; }
long f_s8(struct s8 s, long x) { return s.a + s.b + x; }
long f_big(struct big b, long x) { return b.a + b.c + x; }
struct big f_sret(long x, long y) { struct big b = { x, y, x + y }; return b; }
double f_float(double a, long b, float c) { return a + b + c; }
long f_many(long a, long b, long c, long d, long e, long f, long g, long h) { return a + b + c + d + e + f + g + h; }
long f_fl(struct fl s) { return s.d + s.x; }
long f_pk(struct pk p, long y) { return p.c + p.i + y; }
long f_ptr(const char *p, unsigned char c, short s, _Bool b) { return p[c] + s + b; }
long f_mixed(struct mixed m, long x) { return m.tag + (long)m.w + x; }
