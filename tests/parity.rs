//! Numerical parity with the official lang-seg code on the golden fixtures, on every backend
//! compiled in. Tolerances: intermediates and logits max|a-b| <= 1e-4; output also <= 1e-5
//! relative to max|ref|.

mod common;

use common::*;
use lseg::{LoadOptions, Lseg};

fn load(file_or_bytes: Result<&str, &[u8]>, cfg: &str, backend: lseg::Backend) -> Lseg {
    let opts = LoadOptions {
        backend: Some(backend),
        config: Some(fixture_config(cfg)),
        ..Default::default()
    };
    match file_or_bytes {
        Ok(f) => Lseg::load(fixture(&format!("{f}.safetensors")), &opts).unwrap(),
        Err(b) => Lseg::load_bytes(b, &opts).unwrap(),
    }
}

/// Full check of a fixture that stores every intermediate.
fn full_parity(name: &str, has_image_features: bool) {
    for backend in backends() {
        let model = load(Ok(name), name, backend);
        let dev = model.device().clone();
        let tag = |t: &str| format!("{name}/{backend}/{t}");

        // Text tower on the reference tokens, and our tokenizer gives the same tokens.
        let rows = reference_tokens(name);
        let labels = fixture_json(name)["labels"].clone();
        let labels: Vec<String> = labels
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_string())
            .collect();
        assert_eq!(model.tokenize(&labels, false).unwrap(), rows);
        let text = model.encode_tokens(&rows).unwrap();
        check(
            &tag("text_features"),
            &to_vec(&text),
            &reference(name, "text_features"),
            1e-4,
        );

        let image = to_tensor::<4>(&reference(name, "input.image"), &dev);
        let taps = model.forward_taps(image.clone()).unwrap();
        for (i, l) in taps.layers.iter().enumerate() {
            let key = format!("layer_{}", i + 1);
            check(&tag(&key), &to_vec(l), &reference(name, &key), 1e-4);
        }
        check(
            &tag("path_1"),
            &to_vec(&taps.path_1),
            &reference(name, "path_1"),
            1e-4,
        );
        if has_image_features {
            check(
                &tag("image_features"),
                &to_vec(&taps.image_features),
                &reference(name, "image_features"),
                1e-4,
            );
        }
        let label_set = model.encode_labels(&labels).unwrap();
        let logits = model.logits(taps.image_features.clone(), &label_set);
        check(
            &tag("logits_f32"),
            &to_vec(&logits),
            &reference(name, "logits_f32"),
            1e-4,
        );
        let out = model.forward(image, &label_set).unwrap();
        let rel = check(
            &tag("output"),
            &to_vec(&out),
            &reference(name, "output"),
            1e-4,
        );
        assert!(
            rel <= 1e-5,
            "{name}/{backend}: output relative error {rel:e} > 1e-5"
        );
    }
}

#[test]
fn tiny_vit16_parity() {
    full_parity("tiny_vit16", true);
}

#[test]
fn tiny_vit32_parity() {
    full_parity("tiny_vit32", false);
}

/// arch_option 1 and 2: the other weights are those of tiny_vit16.
fn head_block_parity(name: &str) {
    let bytes = merged(&["tiny_vit16", name]);
    for backend in backends() {
        let model = load(Err(&bytes), name, backend);
        let dev = model.device().clone();
        let labels = ["dog", "grass", "other", "a red car", "sky"];
        let label_set = model.encode_labels(&labels).unwrap();
        let image = to_tensor::<4>(&reference(name, "input.image"), &dev);
        let pixels = model.embed(image.clone()).unwrap();
        let logits = model.logits(pixels, &label_set);
        let tag = |t: &str| format!("{name}/{backend}/{t}");
        check(
            &tag("logits_f32"),
            &to_vec(&logits),
            &reference(name, "logits_f32"),
            1e-4,
        );
        let out = model.forward(image, &label_set).unwrap();
        let rel = check(
            &tag("output"),
            &to_vec(&out),
            &reference(name, "output"),
            1e-4,
        );
        assert!(
            rel <= 1e-5,
            "{name}/{backend}: output relative error {rel:e} > 1e-5"
        );
    }
}

#[test]
fn tiny_vit16_block_parity() {
    head_block_parity("tiny_vit16_block");
}

#[test]
fn tiny_vit16_dw_parity() {
    head_block_parity("tiny_vit16_dw");
}

#[test]
fn label_batching_and_order_do_not_change_results() {
    let bytes = merged(&["tiny_vit16", "tiny_vit16_block"]);
    let model = load(
        Err(&bytes),
        "tiny_vit16_block",
        lseg::Backend::default_cpu().unwrap(),
    );
    let labels = [
        "a red car",
        "dog",
        "the quick brown fox jumps",
        "sky",
        "a",
        "grass",
    ];
    let all = model.encode_labels(&labels).unwrap().to_vec();
    let d = model.embed_dim();
    for (i, l) in labels.iter().enumerate() {
        let one = model.encode_labels(&[*l]).unwrap().to_vec();
        let diff = one
            .iter()
            .zip(&all[i * d..(i + 1) * d])
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        assert!(diff < 1e-6, "label {l}: batched vs alone differ by {diff}");
    }
    // The head (with its spatial-regularisation blocks) is label-order equivariant.
    let image = to_tensor::<4>(
        &reference("tiny_vit16_block", "input.image"),
        model.device(),
    );
    let fwd = model
        .forward(image.clone(), &model.encode_labels(&labels).unwrap())
        .unwrap();
    let rev: Vec<&str> = labels.iter().rev().copied().collect();
    let bwd = model
        .forward(image, &model.encode_labels(&rev).unwrap())
        .unwrap();
    let n = labels.len();
    let (f, shape) = to_vec(&fwd);
    let (b, _) = to_vec(&bwd);
    let plane = shape[2] * shape[3];
    for i in 0..n {
        let a = &f[i * plane..(i + 1) * plane];
        let c = &b[(n - 1 - i) * plane..(n - i) * plane];
        let diff = a
            .iter()
            .zip(c)
            .map(|(x, y)| (x - y).abs())
            .fold(0f32, f32::max);
        assert!(diff < 1e-5, "label {i}: permuted output differs by {diff}");
    }
}

#[test]
fn random_weights_model_has_the_loaded_shapes() {
    let cfg = fixture_config("tiny_vit16");
    let specs = Lseg::tensor_specs(&cfg).unwrap();
    let w = lseg::weights::WeightFile::open(fixture("tiny_vit16.safetensors")).unwrap();
    let w = w.parse().unwrap();
    for (k, s) in &specs {
        assert_eq!(w.shape(k).as_ref(), Some(s), "{k}");
    }
    // Unused tensors are never read: the final ViT norm and refinenet4's first unit.
    assert!(
        specs
            .iter()
            .all(|(k, _)| !k.starts_with("pretrained.model.norm."))
    );
    assert!(
        specs
            .iter()
            .all(|(k, _)| !k.starts_with("scratch.refinenet4.resConfUnit1."))
    );
    let bytes = lseg::testing::random_safetensors(&cfg, lseg::Precision::F16).unwrap();
    let m = Lseg::load_bytes(&bytes, &LoadOptions::default()).unwrap();
    assert_eq!(m.config(), &cfg);
    let labels = m.encode_labels(&["dog"]).unwrap();
    let x = lseg::burn::tensor::Tensor::<4>::zeros([1, 3, 64, 96], m.device());
    let out = m.forward(x, &labels).unwrap();
    assert_eq!(out.dims(), [1, 1, 64, 96]);
    assert!(to_vec(&out).0.iter().all(|v| v.is_finite()));
}
