//! `lseg`: language-driven semantic segmentation from the command line.
//!
//! * `lseg segment`: label pictures, overlays, pixel shares, scores and embeddings.
//! * `lseg eval`: pixAcc and mIoU on a data set, as the official evaluator.
//! * `lseg convert`: the official Lightning checkpoint to safetensors.
//! * `lseg info`: what a weights file holds.

mod augment;
mod checkpoint;
mod common;
mod convert;
mod dataset;
mod eval;
mod info;
mod npy;
mod pickle;
mod render;
mod segment;
mod train;

use std::path::Path;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use lseg::LsegConfig;

/// LSeg: segment images with free-form text labels (Li et al., ICLR 2022), natively in Rust.
#[derive(Debug, Parser)]
#[command(name = "lseg", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    Segment(Box<segment::Args>),
    Eval(Box<eval::Args>),
    Train(Box<train::Args>),
    Convert(convert::Args),
    Info(info::Args),
}

/// A one-line error message for the user.
#[derive(Debug)]
pub struct Failure(pub String);

// `Failure` deliberately has no `Display`, so this blanket conversion does not clash with
// `From<T> for T`.
impl<E: std::fmt::Display> From<E> for Failure {
    fn from(e: E) -> Self {
        Self(e.to_string())
    }
}

/// `--config`: a preset name or a JSON file.
pub fn parse_config(s: &str) -> Result<LsegConfig, Failure> {
    if let Ok(c) = LsegConfig::preset(s) {
        return Ok(c);
    }
    let text = std::fs::read_to_string(s).map_err(|e| {
        Failure(format!(
            "--config `{s}` is neither a preset (vitl16, vitb32) nor a readable file: {e}"
        ))
    })?;
    LsegConfig::from_json(&text).map_err(|e| Failure(format!("--config {s}: {e}")))
}

/// A short name for a configuration: the official preset it equals, or its shape.
pub fn variant_name(cfg: &LsegConfig) -> String {
    if *cfg == LsegConfig::vitl16() {
        "vitl16 (official LSeg clip_vitl16_384: ViT-L/16 + CLIP ViT-B/32 text)".into()
    } else if *cfg == LsegConfig::vitb32() {
        "vitb32 (official LSeg clip_vitb32_384: ViT-B/32 + CLIP ViT-B/32 text)".into()
    } else {
        let v = &cfg.vit;
        format!(
            "custom (ViT patch {}, width {}, depth {}; text width {}, {} layers)",
            v.patch_size, v.embed_dim, v.depth, cfg.text.width, cfg.text.layers
        )
    }
}

/// Print to stdout; a closed stdout (`| head`) is not an error of the command.
pub fn emit(text: &str) {
    use std::io::Write;
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}

/// Create the parent directory of a file.
pub fn create_parent(path: &Path) -> Result<(), Failure> {
    match path.parent().filter(|d| !d.as_os_str().is_empty()) {
        Some(dir) => std::fs::create_dir_all(dir)
            .map_err(|e| Failure(format!("cannot create {}: {e}", dir.display()))),
        None => Ok(()),
    }
}

fn main() -> ExitCode {
    // Any panic (a bug) still ends with one line and a non-zero status.
    std::panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!("error: internal error: {}{at}", msg.replace('\n', " "));
    }));
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Segment(a) => segment::run(a),
        Command::Eval(a) => eval::run(a).map(|()| ExitCode::SUCCESS),
        Command::Train(a) => train::run(a).map(|()| ExitCode::SUCCESS),
        Command::Convert(a) => convert::run(a).map(|()| ExitCode::SUCCESS),
        Command::Info(a) => info::run(a).map(|()| ExitCode::SUCCESS),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", e.0.replace('\n', " "));
            ExitCode::FAILURE
        }
    }
}
