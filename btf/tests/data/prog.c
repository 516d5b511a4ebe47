#include <stdint.h>
struct point { int x, y; };
struct flags { unsigned a:3, b:5; signed c:7; _Bool d:1; };
union u { int i; float f; char c[4]; };
enum color { RED, GREEN = 5, BLUE = -1 };
enum big { HUGE = 0x100000000ULL };
typedef struct point point_t;
struct list { struct list *next; const volatile point_t *p; int (*cb)(void *, long); struct flags f; union u uu; enum color c; enum big b; double d; long double ld; char name[16]; int grid[2][3]; };
int counter;
static int hidden = 3;
__attribute__((noinline)) int add(int a, int b) { return a + b + hidden; }
__attribute__((noinline)) static long walk(struct list *l, int n, ...) { long s = 0; while (l && n--) { s += l->f.a; l = l->next; } return s; }
int use(struct list *l) { counter++; return (int)walk(l, 2, 1) + add(1, 2); }
