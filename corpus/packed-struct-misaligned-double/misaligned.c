/* A packed struct puts a double at byte 12: the kernel's BTF verifier refuses a FLOAT member
 * that is not aligned to min(size, 8) bytes, so a faithful encoding makes the whole blob fail to
 * load (for a module: no BTF, no tracing of any of its functions). */
struct __attribute__((packed)) sample {
	int tag;
	long long when;
	double value;		/* byte 12 */
	float ratio;		/* byte 20: aligned to 4, accepted */
	volatile double seen;	/* byte 24: aligned; the qualifier must survive too */
	char pad;
	volatile double late;	/* byte 33 */
};

struct sample last;

__attribute__((noinline)) double record(struct sample *s, int scale)
{
	last = *s;
	return s->value * scale + s->ratio + s->late;
}

int main(void)
{
	struct sample s = { 1, 2, 3.5, 0.25f, 0.5, 'x', 1.0 };
	return (int)record(&s, 2);
}
