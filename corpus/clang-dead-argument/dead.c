/* clang -O2 removes the unused first argument of a static, non-address-taken function without
 * renaming it: b moves from rsi to rdi. clang 14 leaves no DW_CC_nocall mark; clang 19 does. */
volatile int sink;
__attribute__((noinline)) static int dead_arg(int unused, int b) { return b * 7 + sink; }
int api(void) { return dead_arg(sink, sink + 1) + dead_arg(sink + 2, sink); }
int main(void) { return 0; }
