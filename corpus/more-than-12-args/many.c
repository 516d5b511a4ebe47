/* 13 parameters: BTF can describe them, but fentry reads at most 12 (MAX_BPF_FUNC_ARGS) and
 * parameters 7..13 travel on the stack. */
volatile long sink;
__attribute__((noinline)) long many13(long a1, long a2, long a3, long a4, long a5, long a6, long a7,
                                      long a8, long a9, long a10, long a11, long a12, long a13)
{ return a1 + a2 * a3 - a4 + a5 * a6 + a7 - a8 + a9 * a10 + a11 - a12 + a13 + sink; }
int main(void) { return (int)many13(sink, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, sink); }
