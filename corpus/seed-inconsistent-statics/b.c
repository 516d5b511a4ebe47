volatile long sink_b;
static __attribute__((noinline)) long dup_fn(long a, long b, long c) { return a * b - c; }
long api_b(void) { return dup_fn(sink_b, sink_b * 2, sink_b + 3); }
int main(void) { return 0; }
