//! The compilers from other Debian suites (gcc 14 from trixie, gcc 15 from sid, each run inside
//! its debootstrap root by `ci/setup`'s chroot runner): they build where the caller builds, with
//! the caller's paths in the DWARF, and each gcc's own `-gbtf` is an encoder configuration of its
//! own that applies to that compiler's builds only.

mod common;
use common::*;

use btf::TypeData;
use harness::config::{Config, Matrix};
use harness::pipeline;

/// A 64-bit enumerator: gcc 12 `-gbtf` writes an 8-byte ENUM and drops it; gcc 14 and 15 write
/// ENUM64 with both values.
const SRC: &str = "enum big { B0 = 0, B1 = 0x100000000ULL };\nenum big bigv;\n\
__attribute__((noinline)) int api(int x) { return x + (int)bigv; }\nint main(void) { return api(1); }\n";

#[test]
fn each_gcc_builds_in_place_and_its_own_gbtf_is_its_own_configuration() {
    let tc = toolchains();
    for id in ["gcc-12", "gcc-14", "gcc-15"] {
        tc.require(id).unwrap_or_else(|e| panic!("{e}"));
    }
    let m = Matrix::resolve(&Config::builtin(), &tc, &["gcc-btf".into()], &["gcc".into()]).unwrap_or_else(|e| panic!("{e:#}"));
    let names: Vec<&str> = m.encoders.iter().map(|e| e.config.name.as_str()).collect();
    assert_eq!(names, ["gcc-btf", "gcc-btf/gcc-14", "gcc-btf/gcc-15"]);
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("big.c");
    std::fs::write(&src, SRC).unwrap();
    for c in &m.compilers {
        let out = dir.path().join(c.tool.as_str());
        let build = pipeline::build(&[src.clone()], c, &out).unwrap_or_else(|e| panic!("{}: {e}", c.name));
        // The DWARF names the host's directories: the chroot runner binds them at their own paths.
        let info = run_ok("readelf", &["--debug-dump=info", &build.binary.display().to_string()], None).stdout_text();
        assert!(info.contains(&src.display().to_string()), "{}: DWARF does not name {}:\n{info}", c.name, src.display());
        assert!(build.facts.instances("api").count() == 1, "{}: no DWARF for api", c.name);
        for e in &m.encoders {
            let applies = e.path == c.path;
            let enc = pipeline::encode_build(e, &build, &out.join(format!("{}.btf", e.config.name.replace('/', "_"))));
            assert_eq!(enc.is_some(), applies, "{} on a {} build", e.config.name, c.name);
            let Some(enc) = enc else { continue };
            let obj = enc.objects.first().unwrap_or_else(|| panic!("{}: no object BTF: {:?}", e.config.name, enc.btf.as_ref().err()));
            let big = obj
                .btf
                .own_types()
                .iter()
                .find(|t| obj.btf.str(t.name) == "big")
                .unwrap_or_else(|| panic!("{}: no enum big", e.config.name));
            match (&big.data, c.tool.as_str()) {
                (TypeData::Enum(en), "gcc-12") => assert_eq!(en.values.len(), 1, "gcc 12 drops B1: {:?}", big.data),
                (TypeData::Enum64(en), "gcc-14" | "gcc-15") => {
                    assert_eq!(en.values.iter().map(|v| v.value).collect::<Vec<_>>(), [0, 0x1_0000_0000], "{}", c.name)
                }
                (other, tool) => panic!("{tool} -gbtf wrote enum big as {other:?}"),
            }
        }
    }
}
