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
