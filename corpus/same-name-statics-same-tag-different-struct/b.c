struct ctx { long b; char tag; };
volatile long sb;
static __attribute__((noinline)) int peek(struct ctx *c) { return (int)c->b + c->tag + (int)sb; }
int api_b(void) { struct ctx c = { sb, 1 }; return peek(&c); }
int main(void) { return 0; }
struct opaque { long v; };
static __attribute__((noinline)) int hold(struct opaque *o) { return o ? (int)o->v : (int)sb; }
int api_d(void) { struct opaque o = { sb }; return hold(&o); }
