//! `--btf_features` and the older per-feature flags, spelled as pahole spells them.

/// Every feature name pahole 1.32 knows, in its order, plus our own.
pub const KNOWN: &[&str] = &[
    "encode_force",
    "var",
    "float",
    "decl_tag",
    "type_tag",
    "enum64",
    "optimized_func",
    "consistent_func",
    "decl_tag_kfuncs",
    "reproducible_build",
    "distilled_base",
    "global_var",
    "attributes",
    "true_signature",
    "clone_true_signature",
];

/// The features of one encode.
///
/// Function *safety* checks (consistent prototypes, parameter locations, clones) are always on:
/// `consistent_func` and `optimized_func` are accepted for compatibility and change nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Features {
    /// `encode_force`: unsupported DWARF types become `void` instead of failing the encode.
    pub encode_force: bool,
    /// `var`: per-CPU variables (`.data..percpu`) as VAR + DATASEC.
    pub var: bool,
    /// `float`: `FLOAT` for floating-point base types (else `INT`, as old pahole did).
    pub float: bool,
    /// `decl_tag`: `DECL_TAG` from `DW_TAG_LLVM_annotation`.
    pub decl_tag: bool,
    /// `type_tag`: `TYPE_TAG` from `DW_TAG_LLVM_annotation` on pointers.
    pub type_tag: bool,
    /// `enum64`: `ENUM64` for 8-byte enums (else a truncated `ENUM`).
    pub enum64: bool,
    /// `global_var`: every global variable, in a DATASEC per ELF section.
    pub global_var: bool,
    /// `true_signature` / `clone_true_signature`: encode clones (`foo.isra.0`) under their own
    /// name with the signature their parameter locations show.
    pub clone_true_signature: bool,
    /// Accepted names without a field: `decl_tag_kfuncs` (tags kfuncs, see the `kfuncs` module);
    /// no effect: `optimized_func`, `consistent_func`,
    /// `reproducible_build` (we are always reproducible), `distilled_base`, `attributes`.
    pub accepted: Vec<String>,
}

impl Default for Features {
    /// What plain `pahole -J` does: var, decl_tag, type_tag and enum64 on; float off.
    fn default() -> Self {
        Features {
            encode_force: false,
            var: true,
            float: false,
            decl_tag: true,
            type_tag: true,
            enum64: true,
            global_var: false,
            clone_true_signature: false,
            accepted: Vec::new(),
        }
    }
}

impl Features {
    /// All features off (the starting point of an explicit `--btf_features=` list).
    pub fn none() -> Self {
        Features {
            encode_force: false,
            var: false,
            float: false,
            decl_tag: false,
            type_tag: false,
            enum64: false,
            global_var: false,
            clone_true_signature: false,
            accepted: Vec::new(),
        }
    }

    /// Applies a `--btf_features=a,b,c` list as pahole does: starts from nothing, `default`
    /// switches on pahole's default set, unknown names are ignored (returned for a warning).
    pub fn from_list(list: &str) -> (Features, Vec<String>) {
        // `+a,b`: the default set plus these (pahole's spelling for adding to the defaults).
        let mut f = Features::none();
        let list = match list.strip_prefix('+') {
            Some(rest) => {
                f.enable("default");
                rest
            }
            None => list,
        };
        let mut unknown = Vec::new();
        for name in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            if !f.enable(name) {
                unknown.push(name.to_string());
            }
        }
        (f, unknown)
    }

    /// Switches one feature on; false for an unknown name.
    pub fn enable(&mut self, name: &str) -> bool {
        match name {
            "encode_force" => self.encode_force = true,
            "var" => self.var = true,
            "float" => self.float = true,
            "decl_tag" => self.decl_tag = true,
            "type_tag" => self.type_tag = true,
            "enum64" => self.enum64 = true,
            "global_var" => self.global_var = true,
            "true_signature" | "clone_true_signature" => self.clone_true_signature = true,
            "default" | "all" => {
                // pahole's BTF_DEFAULT_FEATURE set.
                for n in [
                    "encode_force",
                    "var",
                    "float",
                    "decl_tag",
                    "type_tag",
                    "enum64",
                    "optimized_func",
                    "consistent_func",
                    "decl_tag_kfuncs",
                    "reproducible_build",
                    "attributes",
                ] {
                    self.enable(n);
                }
                if name == "all" {
                    for n in ["distilled_base", "global_var", "true_signature"] {
                        self.enable(n);
                    }
                }
            }
            "optimized_func" | "consistent_func" | "decl_tag_kfuncs" | "reproducible_build"
            | "distilled_base" | "attributes" => {
                if !self.accepted.iter().any(|a| a == name) {
                    self.accepted.push(name.to_string());
                }
            }
            _ => return false,
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_list() {
        let (f, unknown) = Features::from_list(
            "encode_force,var,float,enum64,decl_tag,type_tag,optimized_func,consistent_func,bogus",
        );
        assert!(f.encode_force && f.var && f.float && f.enum64 && f.decl_tag && f.type_tag);
        assert!(!f.global_var && !f.clone_true_signature);
        assert_eq!(unknown, ["bogus"]);
        let (d, _) = Features::from_list("default");
        assert!(d.float && d.var && !d.global_var);
        for k in KNOWN {
            assert!(Features::none().enable(k), "{k}");
        }
        // `+x`: the `default` set plus x.
        let (p, unknown) = Features::from_list("+true_signature");
        assert!(unknown.is_empty());
        assert!(p.clone_true_signature && p.float && p.var && p.enum64);
        assert!(!d.clone_true_signature);
    }
}
