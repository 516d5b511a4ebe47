//! Prints the classification of objects as JSON: `cargo run --example classify -- A.o B.o ...`.
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let paths: Vec<std::path::PathBuf> = std::env::args().skip(1).map(Into::into).collect();
    let c = generators::classify::classify_objects(&paths)?;
    println!("{}", serde_json::to_string_pretty(&c)?);
    Ok(())
}
