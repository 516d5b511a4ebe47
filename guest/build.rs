//! Compiles the fentry probe (bpf/probe.bpf.c) with clang for the agent to embed.
//! `CLANG` picks the compiler (default `clang`; ci/setup installs it).

use std::path::PathBuf;
use std::process::Command;

fn main() {
    let src = "bpf/probe.bpf.c";
    println!("cargo:rerun-if-changed={src}");
    println!("cargo:rerun-if-env-changed=CLANG");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR")).join("probe.bpf.o");
    let clang = std::env::var("CLANG").unwrap_or_else(|_| "clang".to_string());
    let status = Command::new(&clang)
        .args(["-target", "bpf", "-O2", "-g", "-D__TARGET_ARCH_x86", "-I/usr/include/x86_64-linux-gnu", "-c", src, "-o"])
        .arg(&out)
        .status()
        .unwrap_or_else(|e| panic!("cannot run {clang} (install it with ci/setup): {e}"));
    assert!(status.success(), "{clang} failed to compile {src}");
}
