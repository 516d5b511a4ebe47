//! The module flavour's return log: which functions log what they return (`BS_RET`), and that
//! the user flavour, which the static campaign compiles, is untouched by it.

use generators::emit::{Emitter, Flavour};
use generators::model::{Stmt, Ty};
use generators::truth::GroundTruth;
use generators::{generate, Policy};

fn has_tail_call(body: &[Stmt]) -> bool {
    body.iter().any(|s| match s {
        Stmt::TailCall(..) => true,
        Stmt::If { then, otherwise, .. } => has_tail_call(then) || has_tail_call(otherwise),
        Stmt::Loop { body, .. } => has_tail_call(body),
        _ => false,
    })
}

#[test]
fn module_functions_log_their_returns_and_user_programs_do_not() {
    let (mut logging, mut tail_calls) = (0, 0);
    for policy in ["recursion-tailcall", "clang-signature", "mixed"] {
        let p = Policy::by_name(policy).unwrap();
        for seed in 0..6 {
            let prog = generate(seed, &p).unwrap();
            let user: String = Emitter::new(&prog, Flavour::User).sources().into_iter().map(|f| f.text).collect();
            assert!(!user.contains("BS_RET") && !user.contains("bs_ret_log"), "{policy} seed {seed}: the user flavour logs returns");
            assert!(GroundTruth::of(&prog, Flavour::User).functions.iter().all(|f| !f.records_return));

            let files = Emitter::new(&prog, Flavour::Module).sources();
            let truth = GroundTruth::of(&prog, Flavour::Module);
            let main = &files.iter().find(|f| f.name == "main.c").unwrap().text;
            assert!(main.contains("bs_ret_n = 0;") && main.contains("debugfs_create_blob(\"returns\""), "{main}");
            for f in &truth.functions {
                let unit = &files.iter().find(|u| u.name == f.tu).unwrap().text;
                let logged = unit.contains(&format!("BS_RET({}, ", f.id));
                assert_eq!(logged, f.records_return, "{policy} seed {seed}: {} (id {})", f.prototype, f.id);
                let model = &prog.functions[f.id];
                if has_tail_call(&model.body) {
                    tail_calls += 1;
                    // Wrapping `return g(...)` would make the tail call an ordinary call.
                    assert!(!f.records_return, "{policy} seed {seed}: {} has a tail call", f.prototype);
                }
                if matches!(prog.resolve(&model.ret), Ty::Void) || f.ret.starts_with("struct ") || f.ret.starts_with("union ") || f.ret.contains("float") || f.ret.contains("double") {
                    assert!(!f.records_return, "{policy} seed {seed}: {} cannot be read from %rax as logged", f.prototype);
                }
                logging += usize::from(f.records_return);
            }
        }
    }
    assert!(logging > 0 && tail_calls > 0, "logging {logging}, tail calls {tail_calls}");
}
