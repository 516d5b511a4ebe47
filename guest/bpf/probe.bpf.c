// SPDX-License-Identifier: GPL-2.0
/*
 * btfsmith's generic probes, one for fentry and one for fexit. The guest agent loads them once
 * (to get the final instructions with the ring buffer's fd in place), then re-loads one of them
 * once per FUNC of a module's BTF with attach_btf_id/attach_btf_obj_fd set, and attaches it with
 * the FUNC's BTF id as the BPF cookie. Every hit records what a tracer would see: the address the
 * trampoline was entered from, the number of argument slots and the first 12 slots; at fexit
 * also the return value (the argument slots are the values saved at entry). One fexit program
 * replaces fentry where the return value is judged: one trampoline per FUNC either way.
 */
#include <linux/bpf.h>
#include <linux/types.h>
#include <bpf/bpf_helpers.h>

#define MAX_ARGS 12

struct event {
	__u64 cookie;
	__u64 ip;
	__s64 nargs;
	__u64 args[MAX_ARGS];
	__u64 ret;
	/* 1 when recorded at fexit (ret is valid). */
	__u64 exit;
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 22);
} events SEC(".maps");

static __always_inline struct event *record(unsigned long long *ctx)
{
	struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (!e)
		return 0;
	e->cookie = bpf_get_attach_cookie(ctx);
	e->ip = bpf_get_func_ip(ctx);
	e->nargs = bpf_get_func_arg_cnt(ctx);
	/*
	 * One copy of the 12 slots instead of 12 bpf_get_func_arg calls: ctx[i] is what
	 * bpf_get_func_arg(ctx, i) returns for every i < nargs (the agent reports only those), and
	 * the program is a tenth of the size, which is most of what loading it once per FUNC costs.
	 * Slots past nargs are whatever lies above the saved arguments on the trampoline's stack;
	 * a failed read leaves zeros.
	 */
	bpf_probe_read_kernel(e->args, sizeof(e->args), ctx);
	e->ret = 0;
	e->exit = 0;
	return e;
}

SEC("fentry")
int probe(unsigned long long *ctx)
{
	struct event *e = record(ctx);

	if (e)
		bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("fexit")
int probe_exit(unsigned long long *ctx)
{
	struct event *e = record(ctx);
	__u64 v = 0;

	if (!e)
		return 0;
	bpf_get_func_ret(ctx, &v);
	e->ret = v;
	e->exit = 1;
	bpf_ringbuf_submit(e, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
