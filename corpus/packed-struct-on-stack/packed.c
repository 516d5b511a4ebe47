/* A packed 12-byte struct by value: not naturally aligned, passed in memory on the stack. */
struct __attribute__((packed)) pk { char tag; long value; short extra; char pad; };
volatile long sink;
__attribute__((noinline)) long take_packed(int first, struct pk p, int last) { return first + p.value + p.extra + last + sink; }
int main(void) { struct pk p = {1, sink, 3, 0}; return (int)take_packed((int)sink, p, 7); }
