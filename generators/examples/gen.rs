//! Writes one generated program: `cargo run --example gen -- SEED POLICY DIR [user|module]`.
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 4 {
        return Err("usage: gen SEED POLICY DIR [user|module]".into());
    }
    let seed: u64 = args[1].parse()?;
    let policy = generators::Policy::by_name(&args[2])?;
    let flavour: generators::Flavour = args.get(4).map_or("user", |s| s.as_str()).parse()?;
    let prog = generators::generate(seed, &policy)?;
    generators::write_program(&prog, flavour, std::path::Path::new(&args[3]))?;
    Ok(())
}
