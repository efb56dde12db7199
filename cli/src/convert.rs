//! `lseg convert`: official Lightning checkpoint (`demo_e200.ckpt`) to safetensors.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::PathBuf;

use lseg::weights::{CONFIG_METADATA_KEY, LIGHTNING_PREFIX, SKIPPED_PREFIXES};
use lseg::{LsegConfig, Precision};
use safetensors::Dtype;

use crate::checkpoint::{Checkpoint, by_storage, gather};
use crate::{Failure, parse_config, variant_name};

/// Convert a PyTorch Lightning checkpoint (`demo_e200.ckpt`) or a saved state dict to a
/// safetensors file that `lseg` loads with no other file.
///
/// Strips the `net.` prefix, drops the CLIP image tower (`clip_pretrained.visual.*`), the
/// timm classifier (`pretrained.model.head.*`), integer buffers and everything outside the
/// state dict (optimizer state, hyper-parameters), casts to `--dtype` and stores the model
/// configuration in the file's metadata.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The checkpoint (`torch.save` zip format), e.g. demo_e200.ckpt.
    pub checkpoint: PathBuf,
    /// Output `.safetensors` file.
    pub output: PathBuf,
    /// Storage dtype of the output: f32 keeps every value exactly, f16 halves the size
    /// (the official model's CLIP text weights already are f16).
    #[arg(long, default_value = "f32", value_name = "f32|f16|bf16")]
    pub dtype: Precision,
    /// Model configuration where it cannot be inferred from the tensor shapes: a preset
    /// (`vitl16`, `vitb32`) or a JSON file. Default: inferred.
    #[arg(long, value_name = "PRESET|FILE")]
    pub config: Option<String>,
}

pub fn run(args: &Args) -> Result<(), Failure> {
    let mut ckpt = Checkpoint::open(&args.checkpoint)?;
    let n_total = ckpt.entries.len();
    let mut dropped: BTreeMap<&str, usize> = BTreeMap::new();
    let mut keep = Vec::new();
    for e in &ckpt.entries {
        let key = e.key.strip_prefix(LIGHTNING_PREFIX).unwrap_or(&e.key);
        if let Some(p) = SKIPPED_PREFIXES.iter().find(|p| key.starts_with(*p)) {
            *dropped.entry(p.trim_end_matches('.')).or_default() += 1;
        } else if !e.elem.is_float() {
            *dropped.entry("integer buffers").or_default() += 1;
        } else {
            let mut e = e.clone();
            e.key = key.to_string();
            keep.push(e);
        }
    }
    let shapes: BTreeMap<String, Vec<usize>> = keep
        .iter()
        .map(|e| (e.key.clone(), e.tensor.shape.clone()))
        .collect();
    if shapes.len() != keep.len() {
        return Err(Failure(
            "duplicate keys after removing the `net.` prefix".into(),
        ));
    }
    let (cfg, how): (LsegConfig, &str) = match &args.config {
        Some(c) => (parse_config(c)?, "given"),
        None => {
            let cfg = lseg::weights::infer_config_from_shapes(&shapes).map_err(|e| {
                let e = e.to_string();
                let e = e.trim_end_matches("; pass an explicit configuration");
                Failure(format!(
                    "{e}; pass one with --config (a preset: vitl16, vitb32; or a JSON file)"
                ))
            })?;
            (cfg, "inferred")
        }
    };

    let (dtype, es) = match args.dtype {
        Precision::F32 => (Dtype::F32, 4),
        Precision::F16 => (Dtype::F16, 2),
        Precision::BF16 => (Dtype::BF16, 2),
    };
    let mut data: Vec<Vec<u8>> = vec![Vec::new(); keep.len()];
    let mut params = 0usize;
    for (key, idx) in by_storage(&keep) {
        let bytes = ckpt.storage(&key)?;
        for i in idx {
            let vals = gather(&keep[i], &bytes)?;
            params += vals.len();
            let mut out = Vec::with_capacity(vals.len() * es);
            match args.dtype {
                Precision::F32 => {
                    vals.iter()
                        .for_each(|&v| out.extend((v as f32).to_le_bytes()));
                }
                Precision::F16 => vals
                    .iter()
                    .for_each(|&v| out.extend(half::f16::from_f64(v).to_le_bytes())),
                Precision::BF16 => vals
                    .iter()
                    .for_each(|&v| out.extend(half::bf16::from_f64(v).to_le_bytes())),
            }
            data[i] = out;
        }
    }
    let views = keep
        .iter()
        .zip(&data)
        .map(|(e, d)| {
            let v = safetensors::tensor::TensorView::new(dtype, e.tensor.shape.clone(), d)
                .map_err(|err| Failure(format!("tensor `{}`: {err}", e.key)))?;
            Ok((e.key.clone(), v))
        })
        .collect::<Result<Vec<_>, Failure>>()?;
    let source = args
        .checkpoint
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let metadata = HashMap::from([
        (CONFIG_METADATA_KEY.to_string(), cfg.to_json()),
        ("format".to_string(), "pt".to_string()),
        ("source".to_string(), source),
        (
            "converted_by".to_string(),
            format!("lseg {}", env!("CARGO_PKG_VERSION")),
        ),
    ]);
    if let Some(dir) = args.output.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| Failure(format!("cannot create {}: {e}", dir.display())))?;
    }
    safetensors::serialize_to_file(views, Some(metadata), &args.output)
        .map_err(|e| Failure(format!("cannot write {}: {e}", args.output.display())))?;

    let mut o = String::new();
    let size = std::fs::metadata(&args.output)
        .map(|m| m.len())
        .unwrap_or(0);
    writeln!(
        o,
        "wrote {} ({:.1} MB): {} tensors, {} parameters, {}",
        args.output.display(),
        size as f64 / 1e6,
        keep.len(),
        params,
        args.dtype
    )?;
    writeln!(o, "config ({how}): {}", variant_name(&cfg))?;
    let dropped: Vec<String> = dropped.iter().map(|(k, n)| format!("{k} ({n})")).collect();
    writeln!(
        o,
        "read {n_total} state-dict tensors; dropped: {}",
        if dropped.is_empty() {
            "none".to_string()
        } else {
            dropped.join(", ")
        }
    )?;
    if !ckpt.top_level.is_empty() {
        writeln!(
            o,
            "ignored checkpoint entries: {}",
            ckpt.top_level
                .iter()
                .filter(|k| *k != "state_dict")
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        )?;
    }
    crate::emit(&o);
    Ok(())
}
