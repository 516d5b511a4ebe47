//! Shared by the harness's integration tests: the installed toolchains and a way to run tools.
//! A missing tool fails the test with a message naming `ci/setup`; nothing is skipped.
#![allow(dead_code)]

use harness::process::{self, ProcRes};
use harness::toolchains::Toolchains;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub fn toolchains() -> Toolchains {
    Toolchains::load().expect("reading the toolchain manifest")
}

/// Path of a tool by manifest id, or a panic that names ci/setup.
pub fn tool(name: &str) -> PathBuf {
    toolchains().require(name).unwrap_or_else(|e| panic!("{e}")).path.clone()
}

pub fn family(name: &str) -> PathBuf {
    toolchains().require_family(name).unwrap_or_else(|e| panic!("{e}")).path.clone()
}

pub fn btfsmith() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_btfsmith"))
}

/// Runs a tool (2-minute timeout) and returns its result, whatever the exit status.
pub fn run<S: AsRef<std::ffi::OsStr>>(program: impl AsRef<std::ffi::OsStr>, args: &[S], dir: Option<&Path>) -> ProcRes {
    let cmd = process::command(program, args, dir);
    process::run(cmd, Duration::from_secs(120)).expect("starting a tool")
}

/// Runs a tool and panics with its stderr unless it exits 0.
pub fn run_ok<S: AsRef<std::ffi::OsStr>>(program: impl AsRef<std::ffi::OsStr>, args: &[S], dir: Option<&Path>) -> ProcRes {
    run(program, args, dir).check().unwrap_or_else(|e| panic!("{e}"))
}

/// A small C program with every kind of type an encoder meets, and two functions worth tracing.
pub const SAMPLE_C: &str = r#"
struct point { int x, y; };
struct flags { unsigned a:3, b:5; signed c:7; _Bool d:1; };
union u { int i; float f; char c[4]; };
enum color { RED, GREEN = 5, BLUE = -1 };
enum big { HUGE = 0x100000000ULL };
typedef struct point point_t;
struct list {
    struct list *next; const volatile point_t *p; int (*cb)(void *, long);
    struct flags f; union u uu; enum color c; enum big b; double d; char name[16]; int grid[2][3];
};
int counter;
static int hidden = 3;
__attribute__((noinline)) int add(int a, int b) { return a + b + hidden; }
__attribute__((noinline)) static long walk(struct list *l, int n) {
    long s = 0;
    while (l && n--) { s += l->f.a; l = l->next; }
    return s;
}
int use(struct list *l) { counter++; return (int)walk(l, 2) + add(1, 2); }
"#;

/// Writes SAMPLE_C into `dir` and compiles it with `cc` and `flags` into `out` (an object).
pub fn compile_sample(dir: &Path, cc: &Path, flags: &[&str], out: &str) -> PathBuf {
    let src = dir.join("sample.c");
    std::fs::write(&src, SAMPLE_C).unwrap();
    let obj = dir.join(out);
    let mut args: Vec<String> = flags.iter().map(|s| s.to_string()).collect();
    args.extend(["-c".into(), src.display().to_string(), "-o".into(), obj.display().to_string()]);
    run_ok(cc, &args, None);
    obj
}

/// The end of a test module whose `static ssize_t trig(...)` is its trigger: the debugfs file
/// `/sys/kernel/debug/<module>/trigger` the guest agent writes to, init, exit and licence.
pub const TRIGGER_FILE: &str = r#"
static const struct file_operations fops = { .owner = THIS_MODULE, .write = trig };
static struct dentry *dir;
static int __init m_init(void)
{
	dir = debugfs_create_dir(KBUILD_MODNAME, NULL);
	debugfs_create_file("trigger", 0200, dir, NULL, &fops);
	return 0;
}
static void __exit m_exit(void) { debugfs_remove_recursive(dir); }
module_init(m_init);
module_exit(m_exit);
MODULE_LICENSE("GPL");
"#;

/// The verdicts of a `btfsmith audit` run into `dir/out`, by FUNC name, and its exit code
/// (0 or 1; anything else fails the test with the audit's stderr).
pub fn audit_verdicts(dir: &Path, res: &ProcRes) -> (std::collections::HashMap<String, serde_json::Value>, i32) {
    let code = res.status.and_then(|s| s.code()).unwrap_or(-1);
    assert!(code == 0 || code == 1, "audit failed: {}", String::from_utf8_lossy(&res.stderr));
    let lines = std::fs::read_to_string(dir.join("out/verdicts.jsonl")).unwrap();
    let by_name = lines
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .map(|v| (v["name"].as_str().unwrap().to_string(), v))
        .collect();
    (by_name, code)
}
