/* gcc -O2 IPA-SRA: only one field of *s is read, so the clone take_field.isra.0 receives that
 * field instead of the pointer. */
struct big { long a, b, c, d; };
volatile long sink;
__attribute__((noinline)) static long take_field(struct big *s, long k) { return s->c * k + sink; }
long api(struct big *s) { return take_field(s, sink) + take_field(s + 1, sink + 1); }
int main(void) { struct big b[2] = {{1, 2, 3, 4}, {5, 6, 7, 8}}; return (int)api(b); }
