/* Two static functions named dup_fn with different prototypes in two files: the seed's hazard.
 * Arguments come from volatile reads so that gcc cannot propagate them and keeps both bodies
 * under their own name. */
volatile int sink_a;
static __attribute__((noinline)) int dup_fn(int a, int b) { return a * 3 + b; }
int api_a(void) { return dup_fn(sink_a, sink_a + 1); }
