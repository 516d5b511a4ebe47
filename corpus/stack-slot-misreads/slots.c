/* A 16-byte-aligned struct by value after seven longs: the 7th long takes stack slot 0, so the
   ABI puts the struct at +16 (16-byte aligned); the trampoline counts slots and reads +8. */
struct __attribute__((aligned(16))) pair { long lo; long hi; };
volatile long sink;
__attribute__((noinline)) long take_aligned(long a, long b, long c, long d, long e, long f, long g, struct pair p, long h)
{ return a + b + c + d + e + f + g + p.lo + p.hi + h + sink; }
/* The same struct at an even slot (six longs first): both agree, no misread. */
__attribute__((noinline)) long take_aligned_even(long a, long b, long c, long d, long e, long f, struct pair p, long h)
{ return a + b + c + d + e + f + p.lo + p.hi + h + sink; }
/* Two floats: SSE class, passed in xmm0; the long after it in rdi. */
struct vec2 { float x; float y; };
__attribute__((noinline)) long take_vec2(struct vec2 v, long n) { return (long)(v.x * v.y) + n + sink; }
/* int + float in one eightbyte: INTEGER class, rdi; no misread. */
struct tagged { int tag; float w; };
__attribute__((noinline)) long take_tagged(struct tagged t, long n) { return t.tag + (long)t.w + n + sink; }
/* Packed, but every member aligned: INTEGER class, no misread. */
struct __attribute__((packed)) tight { int a; int b; };
__attribute__((noinline)) long take_tight(int first, struct tight t, int last) { return first + t.a + t.b + last + sink; }
int main(void)
{
	struct pair p = { sink, 2 };
	struct vec2 v = { 1.5f, (float)sink };
	struct tagged t = { (int)sink, 2.5f };
	struct tight k = { (int)sink, 3 };
	return (int)(take_aligned(1, 2, 3, 4, 5, 6, 7, p, 8) + take_aligned_even(1, 2, 3, 4, 5, 6, p, 8) + take_vec2(v, 9) + take_tagged(t, 4) + take_tight(1, k, 2));
}
