//! Generation policies as data: relative weights over hazard recipes plus size limits.
//!
//! A [`Policy`] is plain serde data (YARPGen-style relative weights, not cumulative
//! thresholds). Each built-in policy biases programs toward one phenomenon; `mixed` draws
//! from all of them. Load your own with `serde_json::from_str::<Policy>`.

use serde::{Deserialize, Serialize};

use crate::error::GenError;
pub use crate::hazard::Hazard;

/// A phenomenon the classifier can observe in a compiled object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phenomenon {
    /// Two or more out-of-line definitions of one name in different units.
    Collision,
    /// A `.isra` clone.
    Isra,
    /// A `.constprop` clone.
    Constprop,
    /// A `.part` or `.cold` piece.
    PartOrCold,
    /// A parameter of an out-of-line instance without a location.
    OptimizedOut,
    /// A changed calling convention on a function that kept its name.
    SignatureChangeWithoutRename,
    /// A function with more than 6 parameters kept out of line.
    ManyArgs,
    /// A struct parameter passed by value kept out of line.
    StructByValue,
    /// A float parameter kept out of line.
    FloatArgs,
    /// A variadic function kept out of line.
    Varargs,
    /// Any function kept out of line (used by `mixed` and `plain`).
    OutOfLine,
    /// A struct or union passed by value after six integer-register parameters, kept out of
    /// line (the aggregate arrives on the stack).
    StackAggregate,
    /// A union parameter passed by value, kept out of line.
    UnionByValue,
    /// An `__int128` or `unsigned __int128` parameter, kept out of line.
    Int128Args,
    /// A `long double` parameter, kept out of line.
    LongDoubleArgs,
    /// A function with more than 12 parameters, kept out of line.
    TooManyArgs,
    /// A variadic function kept out of line whose callers pass variadic arguments of two or
    /// more types (the types come from the ground truth: DWARF does not record them).
    VarargsMixed,
    /// A weak definition and a strong definition of one name, both out of line in their
    /// objects (the weak symbol is seen in the object's symbol table).
    WeakOverride,
    /// Out-of-line definitions of one name in three or more units, all with one prototype.
    CollisionMany,
    /// Same-name definitions whose parameter has the same struct type name but a different
    /// layout (members or size) in different units.
    SameTagDifferentLayout,
    /// Same-name definitions whose function-pointer parameter has the same type name but a
    /// different prototype in different units.
    SameNameDifferentFnPtr,
    /// A name with out-of-line code in one unit and only inlined code in another.
    InlineOnlyBesideOutOfLine,
    /// A parameter whose location list has it in a callee-saved register (rbx, rbp, r12..r15)
    /// and elsewhere as `DW_OP_entry_value` of a register.
    CalleeSavedEntryValue,
    /// A parameter whose location list leaves part of its function's code uncovered.
    PartialLocation,
    /// A `.constprop` or `.isra` clone whose code is split into several address ranges
    /// (a `.cold` or `.part` piece): its DWARF has `DW_AT_ranges`, no single `low_pc`.
    ColdClone,
    /// A bitfield crossing a boundary of its declared type's size (packed layouts only).
    BitfieldStraddling,
    /// A `_BitInt(N)` base type.
    BitInt,
    /// A `DW_TAG_atomic_type`.
    Atomic,
    /// A vector type (`DW_AT_GNU_vector` array).
    Vector,
    /// An enum of 8 bytes with a value outside the 32-bit range, or one of 1 or 2 bytes with a
    /// negative value.
    EnumUnusualSize,
    /// A flexible or zero-length array member.
    FlexibleArray,
    /// An array type with two or more dimensions.
    MultiDimArray,
    /// A struct or union member without a name whose type is a struct or union.
    AnonMember,
    /// A `DW_TAG_LLVM_annotation` (`btf_type_tag` / `btf_decl_tag`).
    BtfTag,
    /// A chain of three or more typedefs (qualifiers allowed between them).
    TypedefChain,
}

impl Phenomenon {
    /// Short name used in tables.
    pub fn label(self) -> &'static str {
        match self {
            Phenomenon::Collision => "collision",
            Phenomenon::Isra => "isra",
            Phenomenon::Constprop => "constprop",
            Phenomenon::PartOrCold => "part/cold",
            Phenomenon::OptimizedOut => "optimized-out",
            Phenomenon::SignatureChangeWithoutRename => "sig-change-no-rename",
            Phenomenon::ManyArgs => "many-args",
            Phenomenon::StructByValue => "struct-by-value",
            Phenomenon::FloatArgs => "float-args",
            Phenomenon::Varargs => "varargs",
            Phenomenon::OutOfLine => "out-of-line",
            Phenomenon::StackAggregate => "stack-aggregate",
            Phenomenon::UnionByValue => "union-by-value",
            Phenomenon::Int128Args => "int128-args",
            Phenomenon::LongDoubleArgs => "long-double-args",
            Phenomenon::TooManyArgs => "more-than-12-args",
            Phenomenon::VarargsMixed => "varargs-mixed-types",
            Phenomenon::WeakOverride => "weak-and-strong",
            Phenomenon::CollisionMany => "collision-3+-identical",
            Phenomenon::SameTagDifferentLayout => "same-tag-diff-layout",
            Phenomenon::SameNameDifferentFnPtr => "same-name-diff-fnptr",
            Phenomenon::InlineOnlyBesideOutOfLine => "inline-only-copy",
            Phenomenon::CalleeSavedEntryValue => "callee-saved+entry-value",
            Phenomenon::PartialLocation => "partial-location",
            Phenomenon::ColdClone => "cold-clone",
            Phenomenon::BitfieldStraddling => "bitfield-straddling",
            Phenomenon::BitInt => "bitint",
            Phenomenon::Atomic => "atomic",
            Phenomenon::Vector => "vector",
            Phenomenon::EnumUnusualSize => "enum-64/narrow",
            Phenomenon::FlexibleArray => "flexible-array",
            Phenomenon::MultiDimArray => "multidim-array",
            Phenomenon::AnonMember => "anon-member",
            Phenomenon::BtfTag => "btf-tag",
            Phenomenon::TypedefChain => "typedef-chain",
        }
    }
}

/// An inclusive range of counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Range {
    /// Smallest value.
    pub min: u32,
    /// Largest value.
    pub max: u32,
}

impl Range {
    /// `min..=max`.
    pub const fn new(min: u32, max: u32) -> Range {
        Range { min, max }
    }
}

/// Size limits of a program.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// Translation units (a driver `main.c` comes on top).
    pub tus: Range,
    /// Extra type definitions made up front (recipes add their own).
    pub types: Range,
    /// Recipe groups per program.
    pub groups: Range,
    /// Parameters of a plain function.
    pub params: Range,
    /// Statements in a plain body.
    pub stmts: Range,
    /// Expression depth.
    pub expr_depth: u32,
    /// Members of a generated struct.
    pub fields: Range,
    /// Driver calls per function.
    pub calls_per_function: Range,
    /// Globals per unit.
    pub globals_per_tu: Range,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            tus: Range::new(2, 4),
            types: Range::new(1, 5),
            groups: Range::new(2, 6),
            params: Range::new(0, 5),
            stmts: Range::new(1, 4),
            expr_depth: 3,
            fields: Range::new(1, 5),
            calls_per_function: Range::new(1, 2),
            globals_per_tu: Range::new(0, 2),
        }
    }
}

/// A generation policy: which recipes to draw, with relative weights, and the size limits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Policy {
    /// Name (`mixed`, `collisions`, ...).
    pub name: String,
    /// What the policy aims at; `gen_stats` measures these.
    pub targets: Vec<Phenomenon>,
    /// Relative weights of the recipes; zero or missing means never.
    pub weights: Vec<(Hazard, u32)>,
    /// Recipes every program gets at least once (one of them, chosen by weight), before the rest.
    pub guaranteed: Vec<Hazard>,
    /// Size limits.
    pub limits: Limits,
    /// Weights of parameter scalar types, indexed like [`crate::model::Scalar::ALL`].
    pub scalar_weights: Vec<u32>,
    /// Chance in percent that a plain parameter is a pointer to a struct, or a struct, or a typedef.
    pub aggregate_param_percent: u32,
    /// Chance in percent that a driver argument is hidden from constant propagation.
    pub opaque_args_percent: u32,
    /// Swarm testing (YARPGen, wasm-smith): each program keeps only a random subset of the
    /// recipes, so rare combinations get whole programs to themselves.
    #[serde(default)]
    pub swarm: bool,
}

/// The names of the built-in policies, `mixed` first.
pub const POLICY_NAMES: [&str; 16] = [
    "mixed",
    "collisions",
    "isra",
    "constprop",
    "part-cold",
    "optimized-out",
    "clang-signature",
    "many-args",
    "struct-by-value",
    "float-args",
    "varargs",
    "recursion-tailcall",
    "stack",
    "units",
    "locations",
    "types",
];

impl Default for Policy {
    fn default() -> Policy {
        Policy::mixed()
    }
}

impl Policy {
    fn focused(name: &str, targets: Vec<Phenomenon>, hazards: &[Hazard]) -> Policy {
        let mut weights: Vec<(Hazard, u32)> = hazards.iter().map(|h| (*h, 10)).collect();
        weights.push((Hazard::Plain, 2));
        Policy {
            name: name.to_string(),
            targets,
            weights,
            guaranteed: hazards.to_vec(),
            limits: Limits::default(),
            scalar_weights: vec![10, 6, 6, 6, 2, 2, 3, 2, 2, 3, 3, 2, 0, 0],
            aggregate_param_percent: 25,
            opaque_args_percent: 85,
            swarm: false,
        }
    }

    /// Draws from every recipe.
    pub fn mixed() -> Policy {
        let mut p = Policy::focused(
            "mixed",
            vec![
                Phenomenon::Collision,
                Phenomenon::Isra,
                Phenomenon::Constprop,
                Phenomenon::PartOrCold,
                Phenomenon::OptimizedOut,
                Phenomenon::SignatureChangeWithoutRename,
            ],
            &[],
        );
        p.weights = Hazard::ALL
            .iter()
            .map(|h| (*h, if *h == Hazard::Plain { 6 } else { 3 }))
            .collect();
        // 48 recipes: one more group per program than the default, so each recipe is still in
        // well over 5% of programs.
        p.limits.groups = Range::new(3, 7);
        p.scalar_weights = vec![10, 6, 6, 6, 2, 2, 3, 2, 2, 3, 3, 2, 1, 2];
        p
    }

    /// A built-in policy by name (see [`POLICY_NAMES`]).
    pub fn by_name(name: &str) -> Result<Policy, GenError> {
        use Hazard as H;
        use Phenomenon as P;
        let p = match name {
            "mixed" => Policy::mixed(),
            "collisions" => Policy::focused(
                name,
                vec![P::Collision],
                &[
                    H::SameNameIdentical,
                    H::SameNameDifferentTypes,
                    H::SameNameDifferentArity,
                    H::SameNameRenamedParams,
                    H::SameNameMany,
                    H::SameNameGlobalAndStatic,
                    H::SameNameWeakAndStatic,
                ],
            ),
            "isra" => Policy::focused(
                name,
                vec![P::Isra],
                &[H::IsraStructPointer, H::IsraStructByValue],
            ),
            "constprop" => Policy::focused(name, vec![P::Constprop], &[H::ConstpropSameConstant]),
            "part-cold" => {
                Policy::focused(name, vec![P::PartOrCold], &[H::PartialInline, H::ColdPath])
            }
            "optimized-out" => Policy::focused(
                name,
                vec![P::OptimizedOut],
                &[H::UnusedParam, H::ParamSomePaths],
            ),
            "clang-signature" => {
                let mut p = Policy::focused(
                    name,
                    vec![P::SignatureChangeWithoutRename],
                    &[
                        H::ClangDeadArg,
                        H::ClangDeadReturn,
                        H::ClangArgPromotion,
                        H::AddressTakenControl,
                    ],
                );
                // Dead arguments are what clang 14 leaves visible in DWARF; the address-taken
                // control is there to compare with, never guaranteed.
                p.weights = vec![
                    (H::ClangDeadArg, 16),
                    (H::ClangDeadReturn, 6),
                    (H::ClangArgPromotion, 6),
                    (H::AddressTakenControl, 6),
                    (H::Plain, 2),
                ];
                p.guaranteed = vec![H::ClangDeadArg, H::ClangDeadReturn, H::ClangArgPromotion];
                p
            }
            "many-args" => {
                Policy::focused(name, vec![P::ManyArgs], &[H::ManyArgs, H::VeryManyArgs])
            }
            "struct-by-value" => Policy::focused(
                name,
                vec![P::StructByValue],
                &[H::StructByValueSmall, H::StructByValueLarge],
            ),
            "float-args" => {
                let mut p = Policy::focused(name, vec![P::FloatArgs], &[H::FloatArgs]);
                p.scalar_weights[12] = 4;
                p.scalar_weights[13] = 4;
                p
            }
            "varargs" => Policy::focused(name, vec![P::Varargs], &[H::Varargs]),
            "recursion-tailcall" => {
                Policy::focused(name, vec![P::OutOfLine], &[H::Recursion, H::TailCall])
            }
            "stack" => {
                let mut p = Policy::focused(
                    name,
                    vec![
                        P::StackAggregate,
                        P::UnionByValue,
                        P::Int128Args,
                        P::LongDoubleArgs,
                        P::TooManyArgs,
                        P::VarargsMixed,
                    ],
                    &[
                        H::StackStructPacked,
                        H::StackStructAligned,
                        H::StackStructMixed,
                        H::UnionByValue,
                        H::Int128Args,
                        H::LongDoubleArgs,
                        H::TooManyArgs,
                        H::VarargsMixedTypes,
                    ],
                );
                // Eight recipes: more groups per program, so each shows up in most programs.
                p.limits.groups = Range::new(5, 9);
                p
            }
            "units" => {
                let mut p = Policy::focused(
                    name,
                    vec![
                        P::WeakOverride,
                        P::CollisionMany,
                        P::SameTagDifferentLayout,
                        P::SameNameDifferentFnPtr,
                        P::InlineOnlyBesideOutOfLine,
                    ],
                    &[
                        H::WeakAndStrong,
                        H::SameNameIdenticalMany,
                        H::SameTagDifferentLayout,
                        H::SameNameDifferentFnPtr,
                        H::InlineOnlyCopy,
                    ],
                );
                // Three or more units, so "three or more definitions" can happen.
                p.limits.tus = Range::new(3, 5);
                p.limits.groups = Range::new(4, 7);
                p
            }
            "locations" => {
                let mut p = Policy::focused(
                    name,
                    vec![P::CalleeSavedEntryValue, P::PartialLocation, P::ColdClone],
                    &[H::LocCalleeSaved, H::LocPartialLive, H::LocColdClone],
                );
                p.limits.groups = Range::new(3, 6);
                p
            }
            "types" => {
                let mut p = Policy::focused(
                    name,
                    vec![
                        P::BitfieldStraddling,
                        P::BitInt,
                        P::Atomic,
                        P::Vector,
                        P::EnumUnusualSize,
                        P::FlexibleArray,
                        P::MultiDimArray,
                        P::AnonMember,
                        P::BtfTag,
                        P::TypedefChain,
                    ],
                    &[
                        H::TypeBitfields,
                        H::TypeBitInt,
                        H::TypeAtomicVector,
                        H::TypeEnums,
                        H::TypeArrays,
                        H::TypeTagsTypedefs,
                    ],
                );
                p.limits.groups = Range::new(5, 9);
                p
            }
            _ => {
                return Err(GenError::UnknownPolicy {
                    name: name.to_string(),
                    known: POLICY_NAMES.join(", "),
                })
            }
        };
        // A single-phenomenon policy also keeps its `guaranteed` list; `mixed` guarantees nothing.
        Ok(p)
    }

    /// Every built-in policy, `mixed` first.
    pub fn all() -> Vec<Policy> {
        POLICY_NAMES
            .iter()
            .filter_map(|n| Policy::by_name(n).ok())
            .collect()
    }

    /// Checks that the policy can generate anything: some positive weight, sane ranges.
    pub fn validate(&self) -> Result<(), GenError> {
        let bad = |what: String| {
            Err(GenError::InvalidPolicy {
                name: self.name.clone(),
                what,
            })
        };
        if !self.weights.iter().any(|(_, w)| *w > 0) && self.guaranteed.is_empty() {
            return bad("no recipe has a positive weight".into());
        }
        let l = &self.limits;
        for (what, r) in [
            ("tus", l.tus),
            ("types", l.types),
            ("groups", l.groups),
            ("params", l.params),
            ("stmts", l.stmts),
            ("fields", l.fields),
            ("calls_per_function", l.calls_per_function),
            ("globals_per_tu", l.globals_per_tu),
        ] {
            if r.min > r.max {
                return bad(format!("limits.{what}: min {} > max {}", r.min, r.max));
            }
        }
        if l.tus.min < 1 || l.tus.max > 16 {
            return bad(format!(
                "limits.tus must lie in 1..=16, got {}..={}",
                l.tus.min, l.tus.max
            ));
        }
        if l.groups.max > 64 || l.params.max > 16 || l.fields.max > 16 || l.fields.min < 1 {
            return bad("limits too large (groups <= 64, params <= 16, fields 1..=16)".into());
        }
        if l.calls_per_function.min < 1 || l.calls_per_function.max > 8 {
            return bad("limits.calls_per_function must lie in 1..=8".into());
        }
        if self.scalar_weights.len() != crate::model::Scalar::ALL.len()
            || self.scalar_weights.iter().take(12).all(|w| *w == 0)
        {
            return bad("scalar_weights needs 14 entries with some integer weight".into());
        }
        if l.expr_depth > 8 || l.stmts.max > 16 {
            return bad("limits.expr_depth <= 8 and limits.stmts <= 16".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_policy_is_valid_and_named_as_listed() {
        for name in POLICY_NAMES {
            let p = Policy::by_name(name).expect("built-in");
            assert_eq!(p.name, name);
            p.validate().expect("valid");
            assert!(!p.targets.is_empty(), "{name} measures nothing");
        }
        // Every recipe is reachable from `mixed`.
        let mixed = Policy::mixed();
        for h in Hazard::ALL {
            assert!(
                mixed.weights.iter().any(|(w, n)| *w == h && *n > 0),
                "{h:?} missing from mixed"
            );
        }
    }
}
