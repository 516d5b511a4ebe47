/* pahole's tests/clang_parm_aggregate_1, _memory, _optimized and _optimized_stack_1 programs,
 * one function each, called from main so that clang 19 -O2 changes their conventions. */
struct t { long f1; long f2; };
union big { long a; char buf[24]; };

__attribute__((noinline)) static long agg(struct t a, struct t b, int i) { return a.f1 + b.f1 + b.f2 + i; }
__attribute__((noinline)) static long mem(union big u, int dead, int x) { return u.a + x; }
__attribute__((noinline)) static int opt(int a, int b, int c) { return a * c - a - c; }
__attribute__((noinline)) static int stk(int a, int b, int c, int d, int e, int f, int g, int h, int i) { return a * i - a - i; }

struct t p1, p2;
union big g;
int a, b, c, d, e, f, h, i, dead, x;

int main(void)
{
	return (int)agg(p1, p2, i) + (int)mem(g, dead, x) + opt(a, b, c) + stk(a, b, c, d, e, f, h, h, i);
}
