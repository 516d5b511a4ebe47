/* A weak definition overridden by a strong one with another prototype: the linker keeps both
 * bodies, but only the strong one carries the symbol the kernel attaches to. */
volatile long sink;
__attribute__((weak, noinline)) int hook(int a) { return a + (int)sink; }
int call_weak(void) { return hook((int)sink); }
