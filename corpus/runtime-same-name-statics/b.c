// SPDX-License-Identifier: GPL-2.0
#include <linux/kernel.h>

static noinline long dup_fn(long a, long b, long c) { return a * b + c; }
long bs_run_b(long x);
noinline long bs_run_b(long x) { return dup_fn(x + 7, x + 8, x + 9); }
