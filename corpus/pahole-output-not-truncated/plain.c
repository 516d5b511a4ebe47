/* Nothing hard for an encoder: the case is the output file. pahole 1.24 and 1.30, run with
 * --btf_encode_detached=FILE over an existing, larger FILE (a rebuild), do not truncate it: the
 * previous file's tail stays behind the new BTF and the kernel refuses the blob ("Unsupported
 * section found"). pahole 1.32 and btfenc write the same bytes whether FILE existed or not. */
struct point { int x, y; };
volatile int sink;
__attribute__((noinline)) int area(struct point *p) { return p->x * p->y + sink; }
int main(void) { struct point p = { 2, 3 }; return area(&p) & 1; }
