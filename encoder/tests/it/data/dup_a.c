__attribute__((noinline, noclone)) static int dup_fn(int a, int b) { return a * b + 3; }
__attribute__((noinline, noclone)) static int same_fn(int a, int b) { return a - b; }
__attribute__((noinline)) static int cprop(int a, int k) { return a * k + k; }
int api_a(int x) { return dup_fn(x, x + 1) + same_fn(x, 2) + cprop(x, 7) + cprop(x + 1, 7); }
