//! The generator's recipes ([`Hazard`]): what a group of functions is built to provoke. Its own
//! module so that the program model can record a function's recipe without depending on the
//! policies that weigh recipes (the model is the data; [`crate::policy`] builds on it).

use serde::{Deserialize, Serialize};

/// A recipe: a small group of functions and calls built to provoke one phenomenon.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Hazard {
    /// An ordinary function with a random signature (filler and control).
    Plain,
    /// `static` functions of the same name and identical prototype in two or more units.
    SameNameIdentical,
    /// Same-name statics whose parameter types differ.
    SameNameDifferentTypes,
    /// Same-name statics with different numbers of parameters.
    SameNameDifferentArity,
    /// Same-name statics with the same types but different parameter names.
    SameNameRenamedParams,
    /// Three or more same-name statics.
    SameNameMany,
    /// One global definition plus same-name statics elsewhere.
    SameNameGlobalAndStatic,
    /// A weak global plus same-name statics elsewhere.
    SameNameWeakAndStatic,
    /// gcc `.isra`: a struct pointer parameter of which one field is read.
    IsraStructPointer,
    /// gcc `.isra`: a struct passed by value of which one field is read.
    IsraStructByValue,
    /// gcc `.constprop`: every caller passes the same constant.
    ConstpropSameConstant,
    /// gcc `.part`: an inlinable function with a cheap early exit and a big tail.
    PartialInline,
    /// gcc `.cold`: a function with an unlikely path calling a cold helper.
    ColdPath,
    /// Parameters never read.
    UnusedParam,
    /// Parameters read on some paths only.
    ParamSomePaths,
    /// clang dead-argument elimination: an unused leading parameter of a static function.
    ClangDeadArg,
    /// clang dead-return elimination: every caller ignores the result.
    ClangDeadReturn,
    /// clang argument promotion: a `const T *` parameter read once (O3).
    ClangArgPromotion,
    /// Control: like [`Hazard::ClangDeadArg`] but the address is taken, so nothing may change.
    AddressTakenControl,
    /// 7 or 8 parameters (more than the 6 argument registers).
    ManyArgs,
    /// 9 to 13 parameters (around the 12-argument limit of BPF trampolines).
    VeryManyArgs,
    /// A struct of at most 16 bytes passed by value.
    StructByValueSmall,
    /// A struct of more than 16 bytes passed by value.
    StructByValueLarge,
    /// `float` and `double` parameters.
    FloatArgs,
    /// A variadic function.
    Varargs,
    /// A bounded self-recursive function.
    Recursion,
    /// A function ending in a tail call.
    TailCall,
    /// A packed struct passed by value after the six integer argument registers are used.
    StackStructPacked,
    /// An over-aligned struct (`aligned(16)` or `aligned(32)`) passed by value after the six
    /// integer argument registers.
    StackStructAligned,
    /// A struct of mixed integer and float members passed by value after the six integer
    /// argument registers.
    StackStructMixed,
    /// A union passed by value (in a stack position half of the time).
    UnionByValue,
    /// `__int128` / `unsigned __int128` parameters, also where they no longer fit in registers.
    Int128Args,
    /// `long double` parameters (always passed in memory).
    LongDoubleArgs,
    /// 13 to 16 parameters (beyond the 12-argument limit of BPF trampolines).
    TooManyArgs,
    /// A variadic function whose callers pass variadic arguments of several types (`int`,
    /// `long long`, `double`, `long double`, `unsigned __int128`).
    VarargsMixedTypes,
    /// A weak global in one unit and a strong global of the same name in another: the linker
    /// keeps the strong body.
    WeakAndStrong,
    /// Same-name statics with identical prototypes in three or more units.
    SameNameIdenticalMany,
    /// Same-name statics taking a pointer to a struct whose tag is the same in every unit but
    /// whose layout differs (the struct is defined in each unit, not in the shared header).
    SameTagDifferentLayout,
    /// Same-name statics taking a function-pointer typedef of the same name whose prototype
    /// differs per unit; callers pass real functions.
    SameNameDifferentFnPtr,
    /// An always-inlined (no out-of-line body) same-name static in one unit beside an
    /// out-of-line one in another.
    InlineOnlyCopy,
    /// Integer parameters still needed after calls to a weak (so clobber-unknown) helper: they
    /// move to callee-saved registers, and after their last use the location list says
    /// `DW_OP_entry_value(<ABI register>)`.
    LocCalleeSaved,
    /// Integer parameters overwritten in the body between calls: their location lists stop
    /// before the end of the function (the value at entry is gone).
    LocPartialLive,
    /// A static function with one constant argument at every call site and an unlikely path
    /// calling a cold function: gcc makes a `.constprop` clone split into hot and `.cold`
    /// parts, described by `DW_AT_ranges` only.
    LocColdClone,
    /// Bitfields at odd bit offsets, straddling their type's boundaries in packed structs, and
    /// wider than `int` (`unsigned long long x : 33`).
    TypeBitfields,
    /// `_BitInt(N)` up to 256 bits (clang 16 and later; other compilers get an integer or an
    /// array of the same size and argument class).
    TypeBitInt,
    /// `_Atomic` scalars and `vector_size(16)` vectors, in parameters, members and globals.
    TypeAtomicVector,
    /// Enums with 64-bit and negative values, and small enums with an explicit underlying type
    /// (clang) or `packed` (gcc).
    TypeEnums,
    /// Flexible, zero-length and multi-dimensional arrays, in structs behind parameters and in
    /// globals.
    TypeArrays,
    /// Anonymous nested structs and unions, `btf_type_tag`/`btf_decl_tag` (clang) on pointers,
    /// members, parameters and functions, and deep typedef and qualifier chains.
    TypeTagsTypedefs,
}

impl Hazard {
    /// Every recipe.
    pub const ALL: [Hazard; 49] = [
        Hazard::Plain,
        Hazard::SameNameIdentical,
        Hazard::SameNameDifferentTypes,
        Hazard::SameNameDifferentArity,
        Hazard::SameNameRenamedParams,
        Hazard::SameNameMany,
        Hazard::SameNameGlobalAndStatic,
        Hazard::SameNameWeakAndStatic,
        Hazard::IsraStructPointer,
        Hazard::IsraStructByValue,
        Hazard::ConstpropSameConstant,
        Hazard::PartialInline,
        Hazard::ColdPath,
        Hazard::UnusedParam,
        Hazard::ParamSomePaths,
        Hazard::ClangDeadArg,
        Hazard::ClangDeadReturn,
        Hazard::ClangArgPromotion,
        Hazard::AddressTakenControl,
        Hazard::ManyArgs,
        Hazard::VeryManyArgs,
        Hazard::StructByValueSmall,
        Hazard::StructByValueLarge,
        Hazard::FloatArgs,
        Hazard::Varargs,
        Hazard::Recursion,
        Hazard::TailCall,
        Hazard::StackStructPacked,
        Hazard::StackStructAligned,
        Hazard::StackStructMixed,
        Hazard::UnionByValue,
        Hazard::Int128Args,
        Hazard::LongDoubleArgs,
        Hazard::TooManyArgs,
        Hazard::VarargsMixedTypes,
        Hazard::WeakAndStrong,
        Hazard::SameNameIdenticalMany,
        Hazard::SameTagDifferentLayout,
        Hazard::SameNameDifferentFnPtr,
        Hazard::InlineOnlyCopy,
        Hazard::LocCalleeSaved,
        Hazard::LocPartialLive,
        Hazard::LocColdClone,
        Hazard::TypeBitfields,
        Hazard::TypeBitInt,
        Hazard::TypeAtomicVector,
        Hazard::TypeEnums,
        Hazard::TypeArrays,
        Hazard::TypeTagsTypedefs,
    ];

    /// True for the same-name recipes.
    pub fn is_same_name(self) -> bool {
        matches!(
            self,
            Hazard::SameNameIdentical
                | Hazard::SameNameDifferentTypes
                | Hazard::SameNameDifferentArity
                | Hazard::SameNameRenamedParams
                | Hazard::SameNameMany
                | Hazard::SameNameGlobalAndStatic
                | Hazard::SameNameWeakAndStatic
                | Hazard::WeakAndStrong
                | Hazard::SameNameIdenticalMany
                | Hazard::SameTagDifferentLayout
                | Hazard::SameNameDifferentFnPtr
                | Hazard::InlineOnlyCopy
        )
    }
}
