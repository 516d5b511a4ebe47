// SPDX-License-Identifier: GPL-2.0
#include <linux/kernel.h>

static noinline int dup_fn(int a, int b) { return a * b + 3; }
long bs_run_b(long x);
static volatile long bs_zero;
volatile long bs_sink;

void btfsmith_trigger(void)
{
	long x = bs_zero;

	bs_sink = dup_fn((int)x + 5, (int)x + 6) + bs_run_b(x);
}
