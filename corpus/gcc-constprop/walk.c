/* gcc -O2 makes walk.constprop.0: every caller passes n = 2, so the clone does not take n. */
struct list { struct list *next; int v; };
__attribute__((noinline)) static long walk(struct list *l, int n) { long s = 0; while (l && n--) { s += l->v; l = l->next; } return s; }
long use(struct list *l) { return walk(l, 2) + walk(l->next, 2); }
int main(void) { return 0; }
