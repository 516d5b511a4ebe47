/* nine: external, b..h unused (no location), i on the stack; bar: external, b unused;
 * local9: the same body as nine, static, so clang or gcc may change how it is called. */
__attribute__((noinline)) int nine(int a, int b, int c, int d, int e, int f, int g, int h, int i) { return a * i - a - i; }
__attribute__((noinline)) int bar(int a, int b) { return a + 1; }
__attribute__((noinline)) static int local9(int a, int b, int c, int d, int e, int f, int g, int h, int i) { return a * i - a - i; }

int a, b, c, d, e, f, g, h, i;

int main(void)
{
	return nine(a, b, c, d, e, f, g, h, i) + bar(a, c) + local9(a, b, c, d, e, f, g, h, i);
}
