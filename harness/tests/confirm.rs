//! The machine-code confirmation of register-level verdicts, on clang 19 code whose conventions
//! are known (corpus/clang-nocall-mechanisms explains each function).

mod common;
use common::*;
use harness::confirm::{confirm, Disassembly, Status};
use facts::dwarf::EntryLocation;

const SRC: &str = r#"
volatile long sink;
__attribute__((noinline)) static long droplast(long a, long b, long unused) { return a * 5 + b + sink; }
__attribute__((noinline)) static long dropmid(long a, long unused, long c) { return a * 7 + c + sink; }
long api1(long v) { return droplast(v, v + 1, v + 2); }
long api2(long v) { return dropmid(v, v + 1, v * 3); }
int main(void) { return 0; }
"#;

#[test]
fn register_verdicts_are_confirmed_and_a_false_claim_is_refuted() {
    let dir = tempfile::tempdir().unwrap();
    let c = dir.path().join("n.c");
    std::fs::write(&c, SRC).unwrap();
    let bin = dir.path().join("n");
    run_ok(tool("clang-19"), &["-g", "-O2", c.to_str().unwrap(), "-o", bin.to_str().unwrap()], None);
    let dis = Disassembly::of(&bin).expect("objdump");
    let mut facts = facts::dwarf::read_file(&bin).unwrap();

    // clang drops droplast's last argument: api1 never sets rdx for the call.
    let r = confirm(&dis, &facts, "droplast", "nocall:param-dropped");
    assert_eq!(r.status, Status::Confirmed, "{r:?}");
    assert!(r.how.contains("%rdx"), "{r:?}");

    // dropmid's c arrives in rsi (its position says rdx): the callee reads rsi first.
    let r = confirm(&dis, &facts, "dropmid", "register:moved");
    assert_eq!(r.status, Status::Confirmed, "{r:?}");
    assert!(r.how.contains("reads %rsi"), "{r:?}");

    // A false claim: that droplast's b (which arrives in rsi and is used) was dropped. The
    // callee reads rsi before writing it and no parameter is said to be there: refuted.
    let f = facts.functions.iter_mut().find(|f| f.name == "droplast").unwrap();
    f.params[1].location = EntryLocation::None;
    let r = confirm(&dis, &facts, "droplast", "nocall:param-dropped");
    assert_eq!(r.status, Status::Refuted, "{r:?}");

    // No check for other mechanisms.
    assert_eq!(confirm(&dis, &facts, "dropmid", "piece:scalarised-struct").status, Status::Unconfirmable);
}

#[test]
fn same_name_bodies_are_placed_by_binutils() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.c");
    let b = dir.path().join("b.c");
    std::fs::write(&a, "volatile int sa;\nstatic __attribute__((noinline)) int dup_fn(int x, int y) { return x * 3 + y + sa; }\nint api_a(void) { return dup_fn(sa, sa + 1); }\n").unwrap();
    std::fs::write(&b, "volatile long sb;\nstatic __attribute__((noinline)) long dup_fn(long x, long y, long z) { return x * y - z + sb; }\nlong api_b(void) { return dup_fn(sb, sb * 2, sb + 3); }\nint main(void) { return 0; }\n").unwrap();
    let bin = dir.path().join("ab");
    run_ok(family("gcc"), &["-g", "-O2", a.to_str().unwrap(), b.to_str().unwrap(), "-o", bin.to_str().unwrap()], None);
    let dis = Disassembly::of(&bin).expect("objdump");
    let facts = facts::dwarf::read_file(&bin).unwrap();
    let r = confirm(&dis, &facts, "dup_fn", "collision:inconsistent");
    assert_eq!(r.status, Status::Confirmed, "{r:?}");
    assert!(r.how.contains("a.c") && r.how.contains("b.c"), "{r:?}");
    // One body only: a claimed collision is refuted.
    let r = confirm(&dis, &facts, "api_a", "collision:inconsistent");
    assert_eq!(r.status, Status::Refuted, "{r:?}");
}

/// clang's line table gives a static function's first address to an inlined header function
/// (`addr2line -i` then names only the header: the 60-minute campaign's one refuted finding).
/// The symbol table's FILE symbols still say which unit the function came from.
#[test]
fn a_first_instruction_from_a_header_does_not_misplace_a_static() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("h.h"), "static inline unsigned long long rem(unsigned long long a, unsigned long long b) { return b ? a % b : a; }\n").unwrap();
    std::fs::write(dir.path().join("a.c"), "#include \"h.h\"\nvolatile int sa;\nstatic __attribute__((noinline)) int dup_fn(int x, unsigned y) { return (int)rem(0xc2893d093384731dULL, (unsigned long long)(long long)x) + y; }\nint api_a(void) { return dup_fn(sa, 0); }\n").unwrap();
    std::fs::write(dir.path().join("b.c"), "volatile long sb;\nstatic __attribute__((noinline)) long dup_fn(long x, long y, long z) { return x * y - z + sb; }\nlong api_b(void) { return dup_fn(sb, sb * 2, sb + 3); }\nint main(void) { return 0; }\n").unwrap();
    let bin = dir.path().join("ab");
    run_ok(tool("clang-19"), &["-g", "-O2", "a.c", "b.c", "-o", "ab"], Some(dir.path()));
    // The premise: the line table puts the header at the first dup_fn's entry.
    let nm = run_ok("nm", &["-n", bin.to_str().unwrap()], None).stdout_text();
    let first = nm.lines().find(|l| l.ends_with(" dup_fn")).and_then(|l| l.split_whitespace().next()).unwrap().to_string();
    let line = run_ok("addr2line", &["-i", "-e", bin.to_str().unwrap(), &format!("0x{first}")], None).stdout_text();
    assert!(line.trim_end().lines().last().unwrap().contains("h.h:"), "premise: addr2line names the header: {line}");
    let dis = Disassembly::of(&bin).expect("objdump");
    let facts = facts::dwarf::read_file(&bin).unwrap();
    let r = confirm(&dis, &facts, "dup_fn", "collision:inconsistent");
    assert_eq!(r.status, Status::Confirmed, "{r:?}");
    assert!(r.how.contains("a.c") && r.how.contains("b.c"), "{r:?}");
}
