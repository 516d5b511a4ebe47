/* gcc -O2 makes pick.constprop.0 (every caller passes which = 1) returning a pointer. btfenc with
 * its true signature writes FUNC char *pick.constprop.0(struct node *, struct node *): that is
 * the clone's real prototype, and the oracle must not call it WRONG_PROTO (before prototypes were
 * compared as types, "char *" against "char * " made it one). */
struct node { char *name; int v; struct node *next; };
volatile int sink;
struct node *volatile last; /* x and y escape: gcc cannot replace them by their fields (no isra) */

__attribute__((noinline)) static char *pick(struct node *x, struct node *y, int which)
{
    last = x;
    last = y;
    return which ? x->name : y->name;
}

char *api(struct node *a, struct node *b)
{
    char *r = pick(a, b, 1);
    return r == pick(b, a, 1) ? r : 0;
}
int main(void) { return 0; }
