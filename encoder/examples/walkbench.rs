//! The walk phase alone, for profiling and for checking that a change of the walk leaves its
//! output alone: `walkbench FILE [JOBS] [--digest]` prints the time of the ELF load + CU walk
//! (and, with `--digest`, a digest of what the walk hands to the merge). Options are the kernel's
//! (`--lang_exclude=rust` and its `--btf_features` list).
use std::time::Instant;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(path) = args.first() else {
        anyhow::bail!("usage: walkbench FILE [JOBS] [--digest]");
    };
    let jobs = args.get(1).and_then(|j| j.parse().ok()).unwrap_or(1);
    let digest = args.iter().any(|a| a == "--digest");
    let (features, _) = encoder::Features::from_list(
        "encode_force,var,float,enum64,decl_tag,type_tag,optimized_func,consistent_func,decl_tag_kfuncs",
    );
    let opts = encoder::Options {
        features,
        jobs: Some(jobs),
        lang_exclude: encoder::lang_codes("rust"),
        ..encoder::Options::default()
    };
    let t0 = Instant::now();
    let data = encoder::read_input(std::path::Path::new(path))?;
    if digest {
        let (n, h) = encoder::walk_digest(&data, &opts)?;
        println!(
            "{n} CUs, digest {h:016x}, {:?} (incl. digest)",
            t0.elapsed()
        );
    } else {
        let n = encoder::walk_only(&data, &opts)?;
        println!("{n} CUs walked in {:?}", t0.elapsed());
    }
    Ok(())
}
