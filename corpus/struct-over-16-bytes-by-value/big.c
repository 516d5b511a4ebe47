/* A 24-byte struct passed by value goes in memory, not registers; the kernel refuses fentry on
 * struct arguments over 16 bytes. */
struct triple { long x, y, z; };
volatile long sink;
__attribute__((noinline)) long sum_triple(struct triple t, long k) { return t.x + t.y + t.z + k + sink; }
__attribute__((noinline)) long sum_pair(struct { long x, y; } *unused, long k) { return k + sink; }
int main(void) { struct triple t = {sink, 2, 3}; return (int)sum_triple(t, sink); }
