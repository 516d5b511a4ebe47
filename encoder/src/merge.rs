//! All CUs together, stage by stage: the type graph and its deduplication ([`crate::graph`]),
//! FUNC selection ([`crate::funcs`]), variable selection ([`crate::vars`]) and the final BTF in
//! a deterministic order ([`crate::emit`]: CU order, then DIE order; never thread order).

use crate::dwarf::CuOut;
use crate::elf::ElfInfo;
use crate::features::Features;
use crate::report::Report;
use crate::{emit, funcs, graph, vars};
use btf::Btf;
use std::sync::Arc;

pub(crate) fn merge(
    cus: &[CuOut],
    mut g: graph::Graph,
    elf: &ElfInfo,
    base: Option<Arc<Btf>>,
    feats: &Features,
    report: &mut Report,
) -> Result<Btf, btf::WriteError> {
    let timing = std::env::var_os("BTFENC_TIMING").is_some();
    if timing {
        eprintln!("btfenc: memory before merge: {}", graph::mem_status());
    }
    report.types_before_dedup = (g.st.len() - g.nb) as usize;
    // FUNC selection needs the deduplicated graph only to compare the prototypes of a symbol's
    // instances: the rest runs on another thread while this one deduplicates (dedup is
    // sequential, and the walk's threads are done).
    let nodes = g.node_ids();
    let (selection, (g, canon)) = std::thread::scope(|scope| {
        let selection = scope.spawn(|| {
            let t = std::time::Instant::now();
            let s = funcs::select(cus, elf, &nodes, feats);
            if timing {
                eprintln!("btfenc: functions selected beside dedup in {:?}", t.elapsed());
            }
            s
        });
        let canon = graph::dedup(&mut g, report, timing);
        let compact = g.into_canonical(canon);
        // A panic in the selection is the caller's (as it was on this thread).
        let selection = selection
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p));
        (selection, compact)
    });
    if timing {
        eprintln!("btfenc: canonical graph of {} types; memory: {}", g.st.len(), graph::mem_status());
    }
    let t_emit = std::time::Instant::now();
    let (funcs, pending) = selection.finish(&g, &canon, report);
    if timing {
        eprintln!("btfenc: functions compared at {:?}; memory: {}", t_emit.elapsed(), graph::mem_status());
    }
    // The reasons that show prototypes are rendered on another thread meanwhile.
    let (g, canon) = (&g, &canon);
    let (out, texts) = std::thread::scope(|scope| {
        let texts = scope.spawn(|| pending.render(g, canon));
        let vars = vars::select(cus, elf, g, feats);
        let out = emit::emit(g, canon, &funcs, &vars, base.clone(), elf, report);
        let texts = texts.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
        (out, texts)
    });
    pending.fill(report, texts);
    if timing {
        eprintln!(
            "btfenc: functions, variables and emission {:?}",
            t_emit.elapsed()
        );
    }
    Ok(out)
}
