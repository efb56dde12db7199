//! Write a safetensors file of a preset (`vitl16`, `vitb32`) with pseudo-random weights of the
//! real shapes, for benchmarks: `cargo run --release --example random_weights -- vitl16 f32 out.safetensors`.
fn main() -> lseg::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [preset, dtype, out] = args.as_slice() else {
        eprintln!("usage: random_weights PRESET f32|f16|bf16 OUT.safetensors");
        std::process::exit(2);
    };
    let cfg = lseg::LsegConfig::preset(preset)?;
    let bytes = lseg::testing::random_safetensors(&cfg, dtype.parse()?)?;
    std::fs::write(out, bytes).map_err(|source| lseg::Error::Io {
        path: out.into(),
        source,
    })?;
    Ok(())
}
