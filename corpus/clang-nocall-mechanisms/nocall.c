/* Four ways clang 19 -O2 marks a static function DW_CC_nocall, each a different mechanism:
 * - retonly: only the return value is dead (callers ignore it); every argument still arrives in
 *   its ABI register. fentry reads the arguments right: RETURN_DROPPED, not UNSAFE_OPTIMIZED.
 * - droplast: the last argument is dead; the callers stop passing it (rdx holds garbage).
 * - dropmid: the middle argument is dead; clang removes it and c moves from rdx to rsi.
 * - scal: a 16-byte struct passed by value whose first field is dead; clang passes only the
 *   second field, in rdi, where the prototype has x.a (and x.b in rsi). */
volatile long sink;
struct pair { long a; long b; };

__attribute__((noinline)) static long retonly(long a, long b) { sink = a * 3 + b; return a - b; }
__attribute__((noinline)) static long droplast(long a, long b, long unused) { return a * 5 + b + sink; }
__attribute__((noinline)) static long dropmid(long a, long unused, long c) { return a * 7 + c + sink; }
__attribute__((noinline)) static long scal(struct pair x) { return x.b * 11 + sink; }

long api(long v)
{
    struct pair p = { v, v + 1 };
    retonly(v, v + 2);
    retonly(v + 4, v);
    return droplast(v, sink, sink + 1) + droplast(sink, v, v) + dropmid(v, sink, v + 3) + dropmid(sink, v, sink) + scal(p);
}
int main(void) { return (int)api(sink) & 1; }
