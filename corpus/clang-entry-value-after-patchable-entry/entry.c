/* The first ranges of a's and b's location lists start 5 bytes into f1, after the patchable
 * entry; a then moves to a callee-saved register; DW_OP_entry_value names rdi and rsi. */
volatile long sink;

__attribute__((noinline)) void ext(long v) { sink += v; }

__attribute__((noinline, patchable_function_entry(5, 0))) long f1(long a, long b)
{
	ext(b);
	ext(a);
	return a * 3 + b;
}

int main(void) { return (int)f1(sink, sink + 1) & 1; }
