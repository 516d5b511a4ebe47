//! Differential: every configuration's canonical form against the consensus — the lines that
//! more than half of the configurations produced — so that a difference is blamed on the
//! configuration that deviates, not on whichever one happens to come first. Each differing line
//! is classified against the table of expected differences ([`EXPECTED`]); what no rule explains
//! is a finding, shown as a unified diff against the consensus.
//!
//! Differences in *which* FUNCs are emitted are expected (selection policies differ by design);
//! the DWARF-truth oracle judges each of those FUNCs on its own. What must never differ without
//! a reason is a prototype for the same name, or the layout of a type.

use crate::names::{EncoderName, EncoderTool};
use super::{CaseRun, Oracle, Verdict, VerdictKind};
use btf::canon::Canon;
use std::collections::{BTreeMap, BTreeSet};

/// The differential oracle.
#[derive(Debug)]
pub struct Differential;

/// A rule of the expected-differences table: (name, why it is expected). Facts from
/// shared/background/pahole-behaviour.md, re-checked against runs here.
pub const EXPECTED: &[(&str, &str)] = &[
    ("func-selection", "which FUNCs an encoder keeps is its selection policy (consistent_func, optimized_func, clone and collision handling); each kept FUNC is judged by the DWARF-truth oracle"),
    ("func-linkage", "pahole writes every FUNC with static linkage; others follow the symbol's binding"),
    ("float-as-int", "without the float feature, pahole encodes float/double/long double as INT"),
    ("flattened-array", "pahole flattens multi-dimensional arrays (int a[2][3] -> int a[6])"),
    ("variables", "VAR/DATASEC depend on the var/global_var features and on per-cpu-only encoding"),
    ("decl-tags", "DECL_TAG/TYPE_TAG depend on decl_tag/type_tag/decl_tag_kfuncs/attributes features"),
    ("duplicates", "the same line a different number of times, from encoders that do not deduplicate fully: pahole 1.24 with -j writes some FUNCs twice (non-deterministic), gcc -gbtf keeps each object's types"),
    ("unused-anon", "anonymous types nothing refers to are dedup leftovers; they do not change meaning"),
    ("true-signature", "with the true_signature feature an encoder describes a DW_CC_nocall body by the prototype it really has (parameters clang removed left out), not the source prototype; the DWARF-truth oracle judges that prototype against the body"),
    ("unrepresentable-int", "an integer BTF cannot express (odd size, over 16 bytes: clang's DW_OP_convert helpers, _BitInt(N) over 128) is pahole's 4-byte INT __SANITIZED_FAKE_INT__ and btfenc's byte array of its true size; the type-fidelity oracle judges which is right"),
];

/// A canonical line without its `(xN)` count, and the count.
fn split_count(line: &str) -> (&str, usize) {
    if let Some(start) = line.rfind(" (x") {
        if let Some(n) = line[start + 3..]
            .strip_suffix(')')
            .and_then(|n| n.parse().ok())
        {
            return (&line[..start], n);
        }
    }
    (line, 1)
}

/// `FUNC name linkage: proto` → (name, linkage, proto).
fn func_parts(line: &str) -> Option<(&str, &str, &str)> {
    let rest = line.strip_prefix("FUNC ")?;
    let (head, proto) = rest.split_once(": ")?;
    let (name, linkage) = head.split_once(' ')?;
    Some((name, linkage, proto))
}

/// Multi-dimensional array sizes multiplied out: `int a[2][3]` → `int a[6]`.
pub(crate) fn flatten_arrays(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(start) = rest.find('[') {
        out.push_str(&rest[..start]);
        let mut product: Option<u64> = None;
        let mut tail = &rest[start..];
        while let Some(inner) = tail.strip_prefix('[') {
            let Some(end) = inner.find(']') else { break };
            let Ok(n) = inner[..end].parse::<u64>() else {
                break;
            };
            product = Some(product.unwrap_or(1).saturating_mul(n));
            tail = &inner[end + 1..];
        }
        match product {
            Some(p) => {
                out.push_str(&format!("[{p}]"));
                rest = tail;
            }
            None => {
                out.push('[');
                rest = &rest[start + 1..];
            }
        }
    }
    out.push_str(rest);
    out
}

const FLOAT_NAMES: &[&str] = &[
    "float",
    "double",
    "long double",
    "_Float128",
    "__float128",
    "_Float16",
];

/// Which rule explains a line present on one side only, if any.
fn explain_one_sided(
    line: &str,
    other: &BTreeSet<String>,
    allow_duplicates: bool,
    flat_majority: &BTreeSet<String>,
) -> Option<&'static str> {
    let (text, _) = split_count(line);
    if allow_duplicates && other.iter().any(|o| split_count(o).0 == text) {
        return Some("duplicates");
    }
    if text.starts_with("FUNC ") {
        return Some("func-selection");
    }
    if text.starts_with("VAR ") || text.starts_with("DATASEC ") {
        return Some("variables");
    }
    if text.starts_with("DECL_TAG ") {
        return Some("decl-tags");
    }
    if text.starts_with("UNUSED ") {
        return Some("unused-anon");
    }
    if text.starts_with("INT __SANITIZED_FAKE_INT__ ") {
        return Some("unrepresentable-int");
    }
    // btfenc's byte-array stand-in needs an `unsigned char` element type, which a program may
    // not have otherwise: present on one side only when the other side used pahole's fake INT.
    if text == "INT unsigned char size=1 bits=8 encoding=(none)"
        && other
            .iter()
            .any(|o| split_count(o).0.starts_with("INT __SANITIZED_FAKE_INT__ "))
    {
        return Some("unrepresentable-int");
    }
    for f in FLOAT_NAMES {
        if text.starts_with(&format!("INT {f} size="))
            || text.starts_with(&format!("FLOAT {f} size="))
        {
            return Some("float-as-int");
        }
    }
    // The line is one-sided, so if the other side has it up to array shapes, only the shapes
    // differ.
    let flat = flatten_arrays(text);
    if other
        .iter()
        .any(|o| flatten_arrays(split_count(o).0) == flat)
        || flat_majority.contains(&flat)
    {
        return Some("flattened-array");
    }
    // A member whose integer type BTF cannot express: pahole's `__SANITIZED_FAKE_INT__ m` against
    // btfenc's `unsigned char m[N]` (the type-fidelity oracle judges which is right).
    let unrep = unrepresentable_members(text);
    if unrep != text && other.iter().any(|o| unrepresentable_members(split_count(o).0) == unrep) {
        return Some("unrepresentable-int");
    }
    None
}

/// A composite's canonical line with every `__SANITIZED_FAKE_INT__ NAME` and every
/// `unsigned char NAME[N]` member written as `<int> NAME`.
fn unrepresentable_members(line: &str) -> String {
    let Some(open) = line.find('{') else { return line.to_string() };
    let (head, body) = line.split_at(open + 1);
    let members: Vec<String> = body
        .split("; ")
        .map(|m| {
            if let Some(rest) = m.strip_prefix("__SANITIZED_FAKE_INT__ ") {
                return format!("<int> {rest}");
            }
            if let Some(rest) = m.strip_prefix("unsigned char ") {
                // `name[24] @0` -> `name @0`
                if let (Some(lb), Some(rb)) = (rest.find('['), rest.find(']')) {
                    if lb < rb && rest[lb + 1..rb].bytes().all(|b| b.is_ascii_digit()) && !rest[rb + 1..].starts_with('[') {
                        return format!("<int> {}{}", &rest[..lb], &rest[rb + 1..]);
                    }
                }
            }
            m.to_string()
        })
        .collect();
    format!("{head}{}", members.join("; "))
}

/// Compares two canonical forms; returns the unexplained lines (with their side) and the set of
/// rules used.
/// `allow_duplicates`: the judged encoder is one known not to deduplicate fully.
pub fn classify(
    reference: &Canon,
    other: &Canon,
    allow_duplicates: bool,
) -> (Vec<String>, BTreeSet<&'static str>) {
    classify_with(reference, other, allow_duplicates, &BTreeSet::new(), false)
}

/// [`classify`], where `flat_majority` holds the lines (array shapes multiplied out) that more
/// than half of all configurations have: a line the consensus lacks because the configurations
/// split three ways on array shapes (`[4][3]`, `[12]`, `[3][4]`) differs from the majority only
/// in its shape. Which shape is right is the type-fidelity oracle's question.
pub fn classify_with(
    reference: &Canon,
    other: &Canon,
    allow_duplicates: bool,
    flat_majority: &BTreeSet<String>,
    true_signature: bool,
) -> (Vec<String>, BTreeSet<&'static str>) {
    let a: BTreeSet<String> = reference.lines.iter().cloned().collect();
    let b: BTreeSet<String> = other.lines.iter().cloned().collect();
    let mut used = BTreeSet::new();
    let mut unexplained = Vec::new();
    // FUNCs present on both sides: compare prototypes name by name.
    let funcs = |s: &BTreeSet<String>| -> BTreeMap<String, (String, String, usize)> {
        s.iter()
            .filter_map(|l| {
                let (text, n) = split_count(l);
                let (name, linkage, proto) = func_parts(text)?;
                Some((
                    name.to_string(),
                    (linkage.to_string(), proto.to_string(), n),
                ))
            })
            .collect()
    };
    let (fa, fb) = (funcs(&a), funcs(&b));
    for (name, (la, pa, na)) in &fa {
        let Some((lb, pb, nb)) = fb.get(name) else {
            continue;
        };
        if pa != pb && true_signature {
            used.insert("true-signature");
        } else if pa != pb {
            unexplained.push(format!(
                "FUNC {name}: reference says `{pa}`, this says `{pb}`"
            ));
        }
        if la != lb {
            used.insert("func-linkage");
        }
        if na != nb {
            if allow_duplicates {
                used.insert("duplicates");
            } else {
                unexplained.push(format!("FUNC {name}: {na} in the reference, {nb} here"));
            }
        }
    }
    for (line, side, other) in a
        .difference(&b)
        .map(|l| (l, '-', &b))
        .chain(b.difference(&a).map(|l| (l, '+', &a)))
    {
        if line.starts_with("FUNC ") && split_count(line).0.starts_with("FUNC ") {
            let name = func_parts(split_count(line).0).map(|p| p.0);
            if name.is_some_and(|n| fa.contains_key(n) && fb.contains_key(n)) {
                continue; // judged above
            }
        }
        match explain_one_sided(line, other, allow_duplicates, flat_majority) {
            Some(rule) => {
                used.insert(rule);
            }
            None => unexplained.push(format!("{side}{line}")),
        }
    }
    (unexplained, used)
}

impl Oracle for Differential {
    fn name(&self) -> &'static str {
        "differential"
    }

    fn compares_configurations(&self) -> bool {
        true
    }

    fn check(&self, case: &CaseRun<'_>) -> Vec<Verdict> {
        let canons: Vec<(&EncoderName, Canon, bool)> = case
            .encodings
            .iter()
            .filter_map(|e| {
                let partial_dedup = match &e.encoder.config.tool {
                    EncoderTool::GccBtf => true,
                    EncoderTool::Toolchain(id) => id.is("pahole", "1.24"),
                    EncoderTool::Btfenc | EncoderTool::Path(_) => false,
                };
                Some((
                    &e.encoder.config.name,
                    Canon::of(e.btf.as_ref().ok()?),
                    partial_dedup,
                ))
            })
            .collect();
        if canons.len() < 2 {
            return Vec::new();
        }
        let mut support: BTreeMap<&str, usize> = BTreeMap::new();
        for (_, c, _) in &canons {
            for l in &c.lines {
                *support.entry(l.as_str()).or_default() += 1;
            }
        }
        let consensus = Canon {
            lines: support
                .iter()
                .filter(|(_, n)| **n * 2 > canons.len())
                .map(|(l, _)| l.to_string())
                .collect(),
        };
        let mut flat_support: BTreeMap<String, usize> = BTreeMap::new();
        for (_, c, _) in &canons {
            let flat: BTreeSet<String> = c.lines.iter().map(|l| flatten_arrays(split_count(l).0)).collect();
            for f in flat {
                *flat_support.entry(f).or_default() += 1;
            }
        }
        let flat_majority: BTreeSet<String> = flat_support.into_iter().filter(|(_, n)| n * 2 > canons.len()).map(|(l, _)| l).collect();
        let ref_name = "consensus";
        let mut out = Vec::new();
        for (name, canon, partial_dedup) in &canons {
            let true_signature = case.encodings.iter().any(|e| e.encoder.config.name == **name && e.encoder.config.args.iter().any(|a| a.contains("true_signature")));
            let (unexplained, _) = classify_with(&consensus, canon, *partial_dedup, &flat_majority, true_signature);
            if unexplained.is_empty() {
                continue;
            }
            let kind_of = |l: &str| {
                l.trim_start_matches(['+', '-'])
                    .split_whitespace()
                    .next()
                    .unwrap_or("?")
                    .to_string()
            };
            let diff = btf::canon::diff(&consensus, canon, ref_name, name).unwrap_or_default();
            let mechanism = format!("vs {ref_name}: {}", kind_of(&unexplained[0]));
            out.push(Verdict {
                oracle: self.name().into(),
                kind: VerdictKind::UnexplainedDiff,
                encoder: (*name).clone(),
                compiler: case.build.compiler.name.clone(),
                function: None,
                phenomenon: mechanism.clone().into(),
                evidence: mechanism,
                detail: format!(
                    "unexplained differences:\n{}\n\n{diff}",
                    unexplained.join("\n")
                ),
            });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(lines: &[&str]) -> Canon {
        Canon {
            lines: lines.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn a_three_way_array_split_is_explained_by_shape_alone() {
        // No configuration's STRUCT line has a majority; flattened, all three agree.
        let consensus = canon(&["FUNC f static: int f(int a)"]);
        let flat: BTreeSet<String> = ["STRUCT s size=48 {int m[12] @0;}".to_string()].into();
        for line in ["STRUCT s size=48 {int m[4][3] @0;}", "STRUCT s size=48 {int m[12] @0;}", "STRUCT s size=48 {int m[3][4] @0;}"] {
            let c = canon(&["FUNC f static: int f(int a)", line]);
            let (unexplained, used) = classify_with(&consensus, &c, false, &flat, false);
            assert!(unexplained.is_empty() && used.contains("flattened-array"), "{line}: {unexplained:?}");
        }
        // Another size is still unexplained.
        let c = canon(&["FUNC f static: int f(int a)", "STRUCT s size=48 {int m[11] @0;}"]);
        assert!(!classify_with(&consensus, &c, false, &flat, false).0.is_empty());
    }

    #[test]
    fn a_true_signature_prototype_is_explained_only_under_that_feature() {
        let a = canon(&["FUNC dup static: int dup(long int a, int b)"]);
        let b = canon(&["FUNC dup static: void dup(int b)"]);
        let (unexplained, used) = classify_with(&a, &b, false, &BTreeSet::new(), true);
        assert!(unexplained.is_empty() && used.contains("true-signature"), "{unexplained:?}");
        assert!(!classify(&a, &b, false).0.is_empty());
    }

    #[test]
    fn unrepresentable_int_members_are_explained() {
        let pahole = canon(&["STRUCT t size=88 {__SANITIZED_FAKE_INT__ m0 @0; long int m1 @192;}"]);
        let btfenc = canon(&["STRUCT t size=88 {unsigned char m0[24] @0; long int m1 @192;}"]);
        let (unexplained, used) = classify(&pahole, &btfenc, false);
        assert!(unexplained.is_empty() && used.contains("unrepresentable-int"), "{unexplained:?}");
        // Another member changed too: unexplained.
        let other = canon(&["STRUCT t size=88 {unsigned char m0[24] @0; int m1 @192;}"]);
        assert!(!classify(&pahole, &other, false).0.is_empty());
        // The byte array's element type, in a program that has no `unsigned char` of its own,
        // is explained when the other side used pahole's fake INT; without it, it is not.
        let pahole = canon(&[
            "INT __SANITIZED_FAKE_INT__ size=4 bits=32 encoding=SIGNED",
            "STRUCT t size=88 {__SANITIZED_FAKE_INT__ m0 @0; long int m1 @192;}",
        ]);
        let btfenc = canon(&[
            "INT unsigned char size=1 bits=8 encoding=(none)",
            "STRUCT t size=88 {unsigned char m0[24] @0; long int m1 @192;}",
        ]);
        let (unexplained, _) = classify(&pahole, &btfenc, false);
        assert!(unexplained.is_empty(), "{unexplained:?}");
        let plain = canon(&["STRUCT t size=88 {long int m0 @0; long int m1 @192;}"]);
        let extra = canon(&["INT unsigned char size=1 bits=8 encoding=(none)", "STRUCT t size=88 {long int m0 @0; long int m1 @192;}"]);
        assert!(!classify(&plain, &extra, false).0.is_empty());
    }

    #[test]
    fn flattening_multiplies_dimensions() {
        assert_eq!(
            flatten_arrays("STRUCT s size=24 {int grid[2][3] @0;}"),
            "STRUCT s size=24 {int grid[6] @0;}"
        );
        assert_eq!(flatten_arrays("char name[16] @0"), "char name[16] @0");
    }

    #[test]
    fn expected_differences_are_explained_and_others_are_not() {
        let a = canon(&[
            "FUNC f static: int f(int a)",
            "INT double size=8 bits=64 encoding=(none)",
            "STRUCT s size=24 {int g[2][3] @0;}",
        ]);
        let b = canon(&[
            "FLOAT double size=8",
            "FUNC f global: int f(int a)",
            "FUNC g static: void g(void)",
            "STRUCT s size=24 {int g[6] @0;}",
        ]);
        let (unexplained, used) = classify(&a, &b, false);
        assert!(unexplained.is_empty(), "{unexplained:?}");
        assert!(
            used.contains("float-as-int")
                && used.contains("flattened-array")
                && used.contains("func-linkage")
                && used.contains("func-selection"),
            "{used:?}"
        );
        let c = canon(&[
            "FUNC f static: long int f(int a)",
            "STRUCT s size=24 {int g[5] @0;}",
        ]);
        let (unexplained, _) = classify(&a, &c, false);
        assert!(
            unexplained
                .iter()
                .any(|l| l.contains("FUNC f: reference says `int f(int a)`")),
            "{unexplained:?}"
        );
        assert!(
            unexplained
                .iter()
                .any(|l| l == "+STRUCT s size=24 {int g[5] @0;}"),
            "{unexplained:?}"
        );
    }
}
