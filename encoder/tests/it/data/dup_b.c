__attribute__((noinline, noclone)) static long dup_fn(long a, long b, long c) { return a * b + c; }
__attribute__((noinline, noclone)) static int same_fn(int a, int b) { return a - b; }
long api_b(long x, long y) { return dup_fn(x, y, x ^ y) + same_fn(x, 3); }
