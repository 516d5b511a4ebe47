/* A bitfield in a packed struct that starts inside the previous storage unit: gcc and clang
 * describe it with a negative DW_AT_bit_offset (DWARF 2-4 style, 0xff..fa = -6). Reading it as
 * unsigned puts m3 at bit 0, and the kernel rejects the BTF ("Invalid member bits_offset"). */
struct __attribute__((packed)) pb { unsigned char m0 : 5; unsigned int m1; unsigned short m2; unsigned int m3 : 14; };
volatile int sink;
__attribute__((noinline)) int use_pb(struct pb *p) { return (int)p->m3 + p->m0 + sink; }
int main(void) { struct pb x = {1, 2, 3, 4}; return use_pb(&x); }
