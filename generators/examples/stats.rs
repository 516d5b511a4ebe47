//! Prints the phenomena table: `cargo run --release --example stats -- COUNT CC OPT [POLICY...]`.
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 4 {
        return Err("usage: stats COUNT CC OPT [POLICY...]".into());
    }
    let count: usize = args[1].parse()?;
    let cc = generators::compile::Compiler::find(&args[2])?;
    let policies = if args.len() > 4 {
        args[4..]
            .iter()
            .map(|n| generators::Policy::by_name(n))
            .collect::<Result<Vec<_>, _>>()?
    } else {
        generators::Policy::all()
    };
    let t = generators::stats::gen_stats(count, &cc, &args[3], &policies, 0)?;
    print!("{}", t.render());
    Ok(())
}
