/* Two static `peek(struct ctx *)`: the prototypes read alike, but `struct ctx` is a different
 * type in each unit (4 bytes here, 16 in b.c). One FUNC peek refers to one `struct ctx`: a
 * tracer attached to the other body reads its argument through the wrong layout. */
struct ctx { int a; };
volatile int sa;
static __attribute__((noinline)) int peek(struct ctx *c) { return c->a + sa; }
int api_a(void) { struct ctx c = { sa }; return peek(&c); }
/* The negative: `struct opaque` only declared here, defined in b.c: the same type, not a
 * collision of types. */
struct opaque;
static __attribute__((noinline)) int hold(struct opaque *o) { return o != 0 ? sa : 0; }
int api_c(struct opaque *o) { return hold(o); }
