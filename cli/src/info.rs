//! `lseg info`: what a weights file holds.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use lseg::weights::{CONFIG_METADATA_KEY, WeightFile};

use crate::{Failure, parse_config, variant_name};

/// Show a weights file's model variant, configuration, parameter counts and dtypes.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A `.safetensors` weights file.
    pub weights: PathBuf,
    /// Configuration to report instead of the stored or inferred one: a preset (`vitl16`,
    /// `vitb32`) or a JSON file.
    #[arg(long, value_name = "PRESET|FILE")]
    pub config: Option<String>,
    /// List every tensor (key, dtype, shape).
    #[arg(long)]
    pub tensors: bool,
}

/// Which part of the model a key belongs to.
fn group(key: &str) -> &'static str {
    if key.starts_with("clip_pretrained.") {
        "text encoder (CLIP)"
    } else if key.starts_with("pretrained.model.") {
        "image encoder (ViT)"
    } else if key.starts_with("pretrained.") {
        "reassemble (DPT)"
    } else if key.starts_with("scratch.head") || key.starts_with("scratch.output") {
        "head"
    } else if key.starts_with("scratch.") {
        "decoder (DPT)"
    } else {
        "other (not model weights)"
    }
}

pub fn run(args: &Args) -> Result<(), Failure> {
    let mut o = String::new();
    let file = WeightFile::open(&args.weights)?;
    let w = file.parse()?;
    let size = std::fs::metadata(&args.weights)
        .map(|m| m.len())
        .unwrap_or(0);
    let tensors = w.tensors();
    let mut groups: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    let mut dtypes: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for t in &tensors {
        let n: usize = t.shape.iter().product();
        let g = groups.entry(group(&t.key)).or_default();
        g.0 += 1;
        g.1 += n;
        let d = dtypes.entry(t.dtype.clone()).or_default();
        d.0 += 1;
        d.1 += n;
    }
    writeln!(
        o,
        "file:       {} ({:.1} MB)",
        args.weights.display(),
        size as f64 / 1e6
    )?;
    let config = match &args.config {
        Some(c) => parse_config(c).map(|c| (c, "given")),
        None => w
            .infer_config()
            .map(|c| {
                let how = if w.metadata().contains_key(CONFIG_METADATA_KEY) {
                    "stored in the file"
                } else {
                    "inferred from the tensor shapes"
                };
                (c, how)
            })
            .map_err(Failure::from),
    };
    match &config {
        Ok((cfg, how)) => {
            writeln!(o, "variant:    {}", variant_name(cfg))?;
            writeln!(o, "config:     {how}")?;
            let v = &cfg.vit;
            writeln!(
                o,
                "  image:    ViT patch {}, width {}, depth {}, {} heads, MLP {}, pos grid {}x{}, hooks {:?}",
                v.patch_size,
                v.embed_dim,
                v.depth,
                v.num_heads,
                v.mlp_dim,
                v.pos_grid,
                v.pos_grid,
                cfg.hooks
            )?;
            writeln!(
                o,
                "  decoder:  readout {:?}, reassemble {:?}, features {}, pixel embedding {}",
                cfg.readout, cfg.reassemble, cfg.features, cfg.out_dim
            )?;
            let t = &cfg.text;
            writeln!(
                o,
                "  text:     CLIP width {}, {} layers, {} heads, context {}, vocab {}, embedding {}",
                t.width, t.layers, t.heads, t.context_length, t.vocab_size, t.embed_dim
            )?;
            writeln!(
                o,
                "  head:     {:?}, block depth {}, activation {:?}",
                cfg.head_block, cfg.block_depth, cfg.activation
            )?;
            writeln!(o, "  json:     {}", cfg.to_json())?;
        }
        Err(e) => writeln!(o, "config:     unknown ({})", e.0)?,
    }
    let total: usize = groups.values().map(|g| g.1).sum();
    writeln!(
        o,
        "parameters: {} in {} tensors",
        fmt_count(total),
        tensors.len()
    )?;
    for (g, (n, p)) in &groups {
        writeln!(o, "  {g:<26} {:>12}  ({n} tensors)", fmt_count(*p))?;
    }
    writeln!(o, "dtypes:")?;
    for (d, (n, p)) in &dtypes {
        writeln!(o, "  {d:<26} {:>12}  ({n} tensors)", fmt_count(*p))?;
    }
    let extra: Vec<String> = w
        .metadata()
        .iter()
        .filter(|(k, _)| k.as_str() != CONFIG_METADATA_KEY)
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    if !extra.is_empty() {
        writeln!(o, "metadata:   {}", extra.join(", "))?;
    }
    if args.tensors {
        writeln!(o, "tensors:")?;
        for t in &tensors {
            writeln!(o, "  {} {} {:?}", t.key, t.dtype, t.shape)?;
        }
    }
    crate::emit(&o);
    Ok(())
}

/// 1234567 -> "1,234,567".
fn fmt_count(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
