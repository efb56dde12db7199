//! Shared helpers for the fixture tests.
#![allow(dead_code)]

use std::path::PathBuf;

use lseg::burn::tensor::{Tensor, TensorData};
use lseg::weights::WeightFile;
use lseg::{Activation, Backend, HeadBlock, LsegConfig, Readout, TextConfig, VitConfig};
use serde_json::Value;

/// `tests/fixtures/<name>` of the repository (found from any workspace member).
pub fn fixture(name: &str) -> PathBuf {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .map(|d| d.join("tests/fixtures"))
        .find(|d| d.join("README.md").is_file())
        .expect("tests/fixtures above the package");
    dir.join(name)
}

pub fn fixture_json(name: &str) -> Value {
    let text = std::fs::read_to_string(fixture(&format!("{name}.json"))).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// The fixture's `config` section as an [`LsegConfig`].
pub fn fixture_config(name: &str) -> LsegConfig {
    let j = fixture_json(name);
    let c = &j["config"];
    let v = &c["vit"];
    let u = |x: &Value| x.as_u64().unwrap() as usize;
    let arr4 = |x: &Value| -> [usize; 4] {
        let a: Vec<usize> = x.as_array().unwrap().iter().map(u).collect();
        a.try_into().unwrap()
    };
    let t = &c["clip"];
    LsegConfig {
        vit: VitConfig {
            patch_size: u(&v["patch_size"]),
            embed_dim: u(&v["embed_dim"]),
            depth: u(&v["depth"]),
            num_heads: u(&v["num_heads"]),
            mlp_dim: (v["embed_dim"].as_f64().unwrap() * v["mlp_ratio"].as_f64().unwrap()) as usize,
            pos_grid: u(&v["pos_embed_grid"][0]),
            layer_norm_eps: v["layernorm_eps"].as_f64().unwrap(),
        },
        hooks: arr4(&c["hooks"]),
        readout: match c["readout"].as_str().unwrap() {
            "project" => Readout::Project,
            "add" => Readout::Add,
            _ => Readout::Ignore,
        },
        reassemble: arr4(&c["reassemble_features"]),
        features: u(&c["features"]),
        out_dim: u(&c["out_c"]),
        text: TextConfig {
            width: u(&t["transformer_width"]),
            heads: u(&t["transformer_heads"]),
            layers: u(&t["transformer_layers"]),
            context_length: u(&t["context_length"]),
            vocab_size: u(&t["vocab_size"]),
            embed_dim: u(&t["embed_dim"]),
            layer_norm_eps: 1e-5,
        },
        head_block: match u(&c["arch_option"]) {
            0 => HeadBlock::None,
            1 => HeadBlock::Bottleneck,
            _ => HeadBlock::Depthwise,
        },
        block_depth: u(&c["block_depth"]),
        activation: match c["activation"].as_str().unwrap() {
            "relu" => Activation::Relu,
            "tanh" => Activation::Tanh,
            _ => Activation::Lrelu,
        },
    }
}

/// A reference tensor stored in a fixture file.
pub fn reference(file: &str, key: &str) -> (Vec<f32>, Vec<usize>) {
    let f = WeightFile::open(fixture(&format!("{file}.safetensors"))).unwrap();
    let w = f.parse().unwrap();
    w.read_f32(key).unwrap()
}

/// Token rows of `input.tokens` (int64 [N, 77]) with the zero padding removed.
pub fn reference_tokens(file: &str) -> Vec<Vec<u32>> {
    let bytes = std::fs::read(fixture(&format!("{file}.safetensors"))).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let v = st.tensor("input.tokens").unwrap();
    let ids: Vec<i64> = v
        .data()
        .chunks_exact(8)
        .map(|b| i64::from_le_bytes(b.try_into().unwrap()))
        .collect();
    let ctx = v.shape()[1];
    ids.chunks(ctx)
        .map(|r| {
            let end = r.iter().position(|&t| t == 49407).unwrap() + 1;
            r[..end].iter().map(|&t| t as u32).collect()
        })
        .collect()
}

pub fn to_tensor<const D: usize>(
    data: &(Vec<f32>, Vec<usize>),
    device: &lseg::burn::tensor::Device,
) -> Tensor<D> {
    let shape: [usize; D] = data.1.clone().try_into().unwrap();
    Tensor::from_data(TensorData::new(data.0.clone(), shape), device)
}

pub fn to_vec<const D: usize>(t: &Tensor<D>) -> (Vec<f32>, Vec<usize>) {
    let data = t.to_data().convert::<f32>();
    (data.try_to_vec::<f32>().unwrap(), t.dims().to_vec())
}

/// (max |a - b|, max |ref|).
pub fn max_diff(got: &(Vec<f32>, Vec<usize>), want: &(Vec<f32>, Vec<usize>)) -> (f32, f32) {
    assert_eq!(got.1, want.1, "shape");
    let d = got
        .0
        .iter()
        .zip(&want.0)
        .map(|(a, b)| (a - b).abs())
        .fold(
            0f32,
            |m, x| if x.is_nan() { f32::INFINITY } else { m.max(x) },
        );
    let m = want.0.iter().fold(0f32, |m, x| m.max(x.abs()));
    (d, m)
}

/// Assert `max|a-b| <= atol`, and report the numbers.
pub fn check(
    what: &str,
    got: &(Vec<f32>, Vec<usize>),
    want: &(Vec<f32>, Vec<usize>),
    atol: f32,
) -> f32 {
    let (d, m) = max_diff(got, want);
    eprintln!("PARITY {what}: max_abs={d:.3e} rel={:.3e}", d / m);
    assert!(
        d <= atol,
        "{what}: max |a-b| = {d:e} > {atol:e} (max|ref| = {m})"
    );
    d / m
}

/// Backends compiled into this test build.
pub fn backends() -> Vec<Backend> {
    Backend::compiled()
}

/// Merge the tensors of several safetensors files (later files win) into one in-memory image.
pub fn merged(files: &[&str]) -> Vec<u8> {
    let blobs: Vec<Vec<u8>> = files
        .iter()
        .map(|f| std::fs::read(fixture(&format!("{f}.safetensors"))).unwrap())
        .collect();
    let sts: Vec<_> = blobs
        .iter()
        .map(|b| safetensors::SafeTensors::deserialize(b).unwrap())
        .collect();
    let mut map = std::collections::BTreeMap::new();
    for st in &sts {
        for (k, v) in st.tensors() {
            map.insert(k, v);
        }
    }
    safetensors::serialize(map, None).unwrap()
}

/// An owned tensor record of a safetensors file.
pub type Record = (safetensors::Dtype, Vec<usize>, Vec<u8>);

/// All tensors of a fixture file, owned.
pub fn records(file: &str) -> std::collections::BTreeMap<String, Record> {
    let bytes = std::fs::read(fixture(&format!("{file}.safetensors"))).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    st.tensors()
        .into_iter()
        .map(|(k, v)| (k, (v.dtype(), v.shape().to_vec(), v.data().to_vec())))
        .collect()
}

/// Serialise records (with optional metadata) to a safetensors image.
pub fn serialize(
    recs: &std::collections::BTreeMap<String, Record>,
    metadata: Option<std::collections::HashMap<String, String>>,
) -> Vec<u8> {
    let views: Vec<(String, safetensors::tensor::TensorView)> = recs
        .iter()
        .map(|(k, (d, s, b))| {
            (
                k.clone(),
                safetensors::tensor::TensorView::new(*d, s.clone(), b).unwrap(),
            )
        })
        .collect();
    safetensors::serialize(views, metadata).unwrap()
}

/// Convert every F32 weight (not the reference tensors) to F16 or BF16; `round_only` keeps
/// F32 storage but rounds the values, giving the exact f32 equivalent of the half file.
pub fn to_half(
    recs: &std::collections::BTreeMap<String, Record>,
    bf16: bool,
    round_only: bool,
) -> std::collections::BTreeMap<String, Record> {
    recs.iter()
        .map(|(k, (d, s, b))| {
            let is_weight = k.starts_with("pretrained.")
                || k.starts_with("scratch.")
                || k.starts_with("clip_pretrained.");
            if *d != safetensors::Dtype::F32 || !is_weight {
                return (k.clone(), (*d, s.clone(), b.clone()));
            }
            let vals = b
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes(c.try_into().unwrap()));
            let (dt, bytes): (safetensors::Dtype, Vec<u8>) = match (bf16, round_only) {
                (false, false) => (
                    safetensors::Dtype::F16,
                    vals.flat_map(|v| half::f16::from_f32(v).to_le_bytes())
                        .collect(),
                ),
                (true, false) => (
                    safetensors::Dtype::BF16,
                    vals.flat_map(|v| half::bf16::from_f32(v).to_le_bytes())
                        .collect(),
                ),
                (false, true) => (
                    safetensors::Dtype::F32,
                    vals.flat_map(|v| half::f16::from_f32(v).to_f32().to_le_bytes())
                        .collect(),
                ),
                (true, true) => (
                    safetensors::Dtype::F32,
                    vals.flat_map(|v| half::bf16::from_f32(v).to_f32().to_le_bytes())
                        .collect(),
                ),
            };
            (k.clone(), (dt, s.clone(), bytes))
        })
        .collect()
}
