/* Types of every BTF kind the encoder produces from plain C. */
#include <stddef.h>
struct list { struct list *next; int v; };
struct bits { unsigned a:3, b:5; int c; unsigned long long d:40; signed char e:2; };
union u { int i; float f; char c[3]; };
enum color { RED, GREEN = 5, BLUE = -1 };
enum big { B1 = 1ULL << 40 };
enum small_unsigned { S0 = 0, S1 = 0xffffffffu };
typedef struct list list_t;
typedef int (*callback_t)(const char *fmt, ...);
struct flex { int n; int data[]; };
struct holder {
    int grid[2][3];
    const volatile int *cvp;
    char *restrict rp;
    struct fwdonly *fp;
    union { long l; void *p; } anon;
    struct { int x, y; } pt;
    callback_t cb;
    _Bool flag;
    double d;
    long double ld;
    unsigned char uc;
    short s;
    list_t *lt;
    struct bits b;
    union u un;
    enum color col;
    enum big bg;
    enum small_unsigned su;
    struct flex *fl;
    char name[256];          /* upper bound 255 in DW_FORM_data1: unsigned */
    unsigned short big[40000];
    int zero[0];             /* upper bound -1 */
};
struct holder global_holder;
int add(int a, int b) { return a + b; }
long use_holder(struct holder *h) { return h->grid[1][2] + h->b.a + h->un.i + h->col + h->bg + h->su; }
/* Enumerator values in data forms carry no sign: 128 in DW_FORM_data1 of an int enum is 128. */
enum s64neg { SN1 = -(1LL << 40), SN2 = 5 };
enum s64pos { SP1 = (1LL << 40), SP2 = 5 };
enum u64big { UB1 = 0xffffffffffffffe0ULL, UB2 = 1 };
enum i32big { IB0 = -1, IB1 = 128, IB2 = 200, IB3 = 70000 };
enum u32big { UU1 = 0xffffffffu, UU2 = 128 };
enum e8s { E8A = -3, E8B = 100 } __attribute__((packed));
enum e8u { U8A = 200, U8B = 1 } __attribute__((packed));
struct enums { enum s64neg a; enum s64pos b; enum u64big c; enum i32big d; enum u32big e; enum e8s f; enum e8u g; } enums_v;
