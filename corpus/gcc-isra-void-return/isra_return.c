/* gcc -O2 clones whose return value IPA-SRA removed or kept (encoder/tests/it/funcs.rs). */
volatile unsigned long sink;

/* Its only caller ignores the result: gcc makes drop_ret.isra.0, which returns nothing
 * (%rax holds whatever the body left there); its DWARF keeps `long`. */
static __attribute__((noinline)) long drop_ret(unsigned long p0, unsigned long p1)
{
	unsigned long acc = p0 * 31 + p1;

	sink ^= acc;
	return (long)acc;
}

/* Result used, `unused` never read: gcc 14 and 15 make keep_ret.isra.0 without `unused`
 * (gcc 12: keep_ret.constprop.0), which still returns the value; its DWARF is shaped like
 * drop_ret.isra.0's. */
static __attribute__((noinline)) int keep_ret(int p1, int unused)
{
	sink ^= p1;
	return p1 * 7;
}

/* Called with b == 9 only: gcc makes cprop.constprop.0(a), which returns the value (IPA-CP
 * never removes a return value). */
static __attribute__((noinline)) long cprop(long a, long b)
{
	sink ^= a;
	return a + b * 5;
}

unsigned long run(unsigned long x, int y)
{
	unsigned long acc = 0;

	drop_ret(x, x + 2);
	acc += keep_ret((int)x, y);
	acc += keep_ret((int)x + 3, y + 1);
	acc += cprop(x, 9);
	acc += cprop(x + 1, 9);
	return acc;
}
