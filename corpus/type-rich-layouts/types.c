/* Every layout feature the type-fidelity oracle checks: bitfields (packed, straddling, wider
 * than int), enums with negative and 64-bit values, nested anonymous structs and unions,
 * multi-dimensional arrays, typedef chains, a packed struct with misaligned doubles. */
struct bits { unsigned a:3, b:5; signed c:7; _Bool d:1; unsigned long long e:40, f:24; };
struct __attribute__((packed)) pbits { char x; unsigned a:13; unsigned b:19; unsigned long long c:33; };
struct straddle { unsigned char a; unsigned int b:20; unsigned int c:12; unsigned short d:9, e:9; };
enum neg { N_MIN = -5, N_ZERO = 0, N_MAX = 7 };
enum big64 { B_SMALL = 1, B_HUGE = 0x100000000ULL };
enum negbig { NB_MIN = -0x100000000LL, NB_ONE = 1 };
enum __attribute__((packed)) tiny { T_A, T_B = 200 };
/* 2-byte signed: gcc writes 200 as DW_FORM_data1 0xc8, -56 as sdata. */
enum __attribute__((packed)) small2 { S_NEG = -56, S_POS = 200 };
struct nest { int a; struct { short s; union { int i; char c[3]; }; } inner; struct { long z; }; };
struct arrs { int grid[2][3]; char cube[2][3][4]; struct nest n[2]; };
typedef int myint;
typedef myint myint2;
typedef const myint2 *pmyint;
typedef struct arrs arrs_t;
typedef struct { int q; struct { char r; } in; } anon_t;
struct __attribute__((packed)) mis { int tag; long long when; double value; float ratio; char pad; volatile double late; };
union un { int i; double d; struct bits b; };
struct flex { int n; int data[]; };
struct all {
	struct bits b; struct pbits pb; struct straddle st; enum neg n; enum big64 bg; enum negbig nb;
	enum tiny t; enum small2 s2; struct nest ne; struct arrs ar; myint2 mi; pmyint pm; arrs_t at; anon_t an;
	struct mis m; union un u; __int128 w; long double ld; struct flex *fl;
};
struct all g_all;
__attribute__((noinline)) int use(struct all *p) { return p->b.a + p->n + (int)p->bg + p->mi + p->an.in.r; }
int main(void) { return use(&g_all); }
