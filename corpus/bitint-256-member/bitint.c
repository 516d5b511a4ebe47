/* clang >= 16: a _BitInt(256) member is 32 bytes. BTF has no 32-byte integer: pahole writes a
 * 4-byte __SANITIZED_FAKE_INT__ (so `tail` appears at the wrong offset, and the struct's
 * members no longer add up); btfenc writes an array of 32 unsigned bytes: same size, same layout. */
struct wide {
    int head;
    _BitInt(256) big;
    unsigned _BitInt(200) odd;
    long tail;
};
struct wide w = { 1, 2, 3, 4 };
__attribute__((noinline)) long read_tail(struct wide *p) { return p->tail + (long)p->big; }
int main(void) { return (int)read_tail(&w) & 1; }
