/* gcc 12 -gbtf writes a multi-dimensional array with its dimensions reversed: `int grid[2][3]`
 * becomes ARRAY(ARRAY(int, 2), 3), i.e. `int grid[3][2]` (bpftool `format c` shows it). The total
 * size is right, but grid[1][0] is at byte 12, and the BTF says byte 8. (No global variable and
 * no char: gcc 12's unlinked DATASEC and char encoding would add LOAD_REJECTED verdicts.) */
struct grid {
	int grid[2][3];
	short cube[2][3][4];
};

__attribute__((noinline)) int pick(struct grid *g)
{
	return g->grid[1][0] + g->cube[1][2][3];
}

int main(void)
{
	struct grid g = { { { 0 } } };
	return pick(&g);
}
