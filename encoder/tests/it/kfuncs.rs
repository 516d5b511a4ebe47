//! `decl_tag_kfuncs`: kfuncs declared in `.BTF_ids` kfunc sets get `DECL_TAG "bpf_kfunc"`.

use crate::common::*;

/// Two BTF id sets laid out as the kernel's `BTF_KFUNCS_START`/`BTF_SET8_START` macros lay them
/// out: a set8 header (`cnt`, `flags`) then one (`id`, `flags`) pair per function, each slot
/// labelled `__BTF_ID__func__NAME__N`. Only the first set has the kfunc flag.
const SRC: &str = r#"
__attribute__((noinline)) long kf_alpha(long a) { return a + 1; }
__attribute__((noinline)) long kf_beta(long a, long b) { return a * b; }
__attribute__((noinline)) long not_a_kfunc(long a) { return a - 1; }
asm(".pushsection .BTF_ids,\"a\"\n"
    "__BTF_ID__set8__my_kfuncs:\n .long 2\n .long 1\n"
    "__BTF_ID__func__kf_alpha__10:\n .long 0\n .long 0\n"
    "__BTF_ID__func__kf_beta__11:\n .long 0\n .long 0\n"
    "__BTF_ID__set8__plain_ids:\n .long 1\n .long 0\n"
    "__BTF_ID__func__not_a_kfunc__12:\n .long 0\n .long 0\n"
    ".popsection\n");
"#;

#[test]
fn kfunc_sets_tag_their_funcs_and_only_with_the_feature() {
    let dir = tempfile::tempdir().unwrap();
    let obj = compile(&gcc(), dir.path(), "kf", SRC, &[]);
    let with = canon(&btfenc_detached(&obj, &["--btf_features=decl_tag,decl_tag_kfuncs"]));
    let tags: Vec<&String> = with.lines.iter().filter(|l| l.starts_with("DECL_TAG")).collect();
    assert_eq!(
        tags,
        [
            "DECL_TAG \"bpf_kfunc\" -> FUNC kf_alpha",
            "DECL_TAG \"bpf_kfunc\" -> FUNC kf_beta"
        ],
        "{}",
        with.to_text()
    );
    let without = canon(&btfenc_detached(&obj, &["--btf_features=decl_tag"]));
    assert!(!without.lines.iter().any(|l| l.starts_with("DECL_TAG")), "{}", without.to_text());
}
