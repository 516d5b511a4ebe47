volatile int sink_b;
static __attribute__((noinline)) int dup_fn(int a, int b) { return a - b; }
int api_b(void) { return dup_fn(sink_b, sink_b * 2); }
int main(void) { return 0; }
