//! Weight loading: f16/bf16 files, the Lightning prefix, metadata config, and bad files that
//! must give a clear error (never a panic or an abort) on every backend.

mod common;

use common::*;
use lseg::{Backend, Error, LoadOptions, Lseg, Precision};

fn opts(backend: Backend) -> LoadOptions {
    LoadOptions {
        backend: Some(backend),
        config: Some(fixture_config("tiny_vit16")),
        ..Default::default()
    }
}

fn output(model: &Lseg) -> (Vec<f32>, Vec<usize>) {
    let labels = model
        .encode_labels(&["dog", "grass", "other", "a red car", "sky"])
        .unwrap();
    let image = to_tensor::<4>(&reference("tiny_vit16", "input.image"), model.device());
    to_vec(&model.forward(image, &labels).unwrap())
}

fn load_err(bytes: &[u8], backend: Backend) -> Error {
    Lseg::load_bytes(bytes, &opts(backend)).expect_err("loading must fail")
}

#[test]
fn half_precision_files_load_exactly() {
    let recs = records("tiny_vit16");
    let official = reference("tiny_vit16", "output");
    for bf16 in [false, true] {
        let half = serialize(&to_half(&recs, bf16, false), None);
        let rounded = serialize(&to_half(&recs, bf16, true), None);
        for backend in backends() {
            let a = output(&Lseg::load_bytes(&half, &opts(backend)).unwrap());
            let b = output(&Lseg::load_bytes(&rounded, &opts(backend)).unwrap());
            // The half file is converted exactly: same result as the f32 file of rounded values.
            let tag = format!(
                "tiny_vit16/{backend}/{}-file",
                if bf16 { "bf16" } else { "f16" }
            );
            check(&format!("{tag} vs rounded-f32 file"), &a, &b, 1e-6);
            // Against the official f32 output, only the weight rounding remains
            // (relative 2^-11 for f16, 2^-8 for bf16, on logits of magnitude ~2.4).
            let (d, m) = max_diff(&a, &official);
            eprintln!(
                "PARITY {tag} vs official f32 output: max_abs={d:.3e} rel={:.3e}",
                d / m
            );
            assert!(d / m < if bf16 { 1.5e-2 } else { 2e-3 }, "{tag}: {d} / {m}");
        }
    }
}

/// Fraction of pixels whose arg-max label is the same in two `[1, N, H, W]` score maps.
fn label_agreement(a: &[f32], b: &[f32], n: usize) -> f64 {
    let hw = a.len() / n;
    let argmax = |v: &[f32], p: usize| {
        (0..n)
            .max_by(|&i, &j| v[i * hw + p].total_cmp(&v[j * hw + p]))
            .unwrap()
    };
    let same = (0..hw).filter(|&p| argmax(a, p) == argmax(b, p)).count();
    same as f64 / hw as f64
}

#[test]
fn half_precision_compute_where_supported() {
    let official = reference("tiny_vit16", "output");
    for backend in backends() {
        for p in [Precision::F16, Precision::BF16] {
            let o = LoadOptions {
                precision: p,
                ..opts(backend)
            };
            let r = Lseg::load(fixture("tiny_vit16.safetensors"), &o);
            if !backend.supports(p) {
                let e = r.expect_err("ndarray cannot hold half precision");
                assert!(matches!(e, Error::Backend(_)), "{e}");
                continue;
            }
            let model = r.unwrap();
            let got = output(&model);
            let (d, m) = max_diff(&got, &official);
            let agree = label_agreement(&got.0, &official.0, got.1[1]);
            eprintln!(
                "PARITY tiny_vit16/{backend}/{p}-compute output: max_abs={d:.3e} rel={:.3e} \
                 label agreement with f32: {:.2}%",
                d / m,
                100.0 * agree
            );
            assert!(agree > 0.97, "{backend} {p}: labels agree on {agree}");
            assert!(
                d / m < if p == Precision::BF16 { 1.5e-2 } else { 2e-3 },
                "{backend} {p}: {d} / {m}"
            );
        }
    }
}

#[test]
fn lightning_prefix_and_extra_keys() {
    let recs = records("tiny_vit16");
    let mut prefixed = std::collections::BTreeMap::new();
    for (k, v) in &recs {
        prefixed.insert(format!("net.{k}"), v.clone());
    }
    // Keys LSeg never uses are skipped.
    let rec = recs["scratch.head1.bias"].clone();
    prefixed.insert("net.clip_pretrained.visual.proj".into(), rec.clone());
    prefixed.insert("net.pretrained.model.head.weight".into(), rec);
    let bytes = serialize(&prefixed, None);
    let model = Lseg::load_bytes(&bytes, &opts(Backend::default_cpu().unwrap())).unwrap();
    check(
        "net.-prefixed file output",
        &output(&model),
        &reference("tiny_vit16", "output"),
        1e-4,
    );
}

#[test]
fn config_from_metadata() {
    let recs = records("tiny_vit16");
    let cfg = fixture_config("tiny_vit16");
    let meta = [(
        lseg::weights::CONFIG_METADATA_KEY.to_string(),
        cfg.to_json(),
    )]
    .into();
    let bytes = serialize(&recs, Some(meta));
    let o = LoadOptions {
        config: None,
        ..opts(Backend::default_cpu().unwrap())
    };
    let model = Lseg::load_bytes(&bytes, &o).unwrap();
    assert_eq!(model.config(), &cfg);
    // Without metadata the tiny model's hooks cannot be inferred: a clear error.
    let plain = serialize(&recs, None);
    let e = Lseg::load_bytes(&plain, &o).unwrap_err().to_string();
    assert!(e.contains("hook"), "{e}");
}

#[test]
fn bad_files_give_clear_errors_on_every_backend() {
    let good = std::fs::read(fixture("tiny_vit16.safetensors")).unwrap();
    let recs = records("tiny_vit16");
    for backend in backends() {
        // Truncated.
        let e = load_err(&good[..good.len() / 2], backend);
        assert!(matches!(e, Error::InvalidWeights(_)), "{e}");
        // Too short for a header.
        let e = load_err(&good[..5], backend);
        assert!(matches!(e, Error::InvalidWeights(_)), "{e}");
        // Corrupt header.
        let mut bad = good.clone();
        for b in &mut bad[8..40] {
            *b = b'#';
        }
        let e = load_err(&bad, backend);
        assert!(matches!(e, Error::InvalidWeights(_)), "{e}");
        // Absurd header length.
        let mut bad = good.clone();
        bad[..8].copy_from_slice(&u64::MAX.to_le_bytes());
        let e = load_err(&bad, backend);
        assert!(matches!(e, Error::InvalidWeights(_)), "{e}");
        // Missing tensor: the error names it.
        let mut r = recs.clone();
        r.remove("scratch.refinenet2.resConfUnit1.bn2.running_var");
        let e = load_err(&serialize(&r, None), backend);
        assert!(
            e.to_string()
                .contains("scratch.refinenet2.resConfUnit1.bn2.running_var"),
            "{e}"
        );
        assert!(matches!(e, Error::MissingTensor { .. }));
        // Wrong shape: the error names the key and both shapes.
        let mut r = recs.clone();
        let (d, _, b) = r["scratch.head1.bias"].clone();
        r.insert(
            "scratch.head1.bias".into(),
            (d, vec![511], b[..511 * 4].to_vec()),
        );
        let e = load_err(&serialize(&r, None), backend);
        let msg = e.to_string();
        assert!(
            msg.contains("scratch.head1.bias") && msg.contains("[511]") && msg.contains("[512]"),
            "{msg}"
        );
        // Unsupported dtype.
        let mut r = recs.clone();
        let (_, s, b) = r["scratch.head1.bias"].clone();
        r.insert("scratch.head1.bias".into(), (safetensors::Dtype::I32, s, b));
        let e = load_err(&serialize(&r, None), backend);
        assert!(matches!(e, Error::UnsupportedDtype { .. }), "{e}");
        // Empty buffer and missing file.
        let e = load_err(&[], backend);
        assert!(matches!(e, Error::InvalidWeights(_)), "{e}");
        let e = Lseg::load("/nonexistent/lseg.safetensors", &opts(backend)).unwrap_err();
        assert!(
            matches!(e, Error::Io { .. }) && e.to_string().contains("/nonexistent"),
            "{e}"
        );
    }
}

#[test]
fn bad_inputs_give_clear_errors() {
    let model = Lseg::load(
        fixture("tiny_vit16.safetensors"),
        &opts(Backend::default_cpu().unwrap()),
    )
    .unwrap();
    let empty: [&str; 0] = [];
    assert!(matches!(model.encode_labels(&empty), Err(Error::Label(_))));
    assert!(matches!(
        model.encode_labels(&["dog", ""]),
        Err(Error::Label(_))
    ));
    assert!(matches!(
        model.encode_labels(&["   "]),
        Err(Error::Label(_))
    ));
    let long = "dog ".repeat(100);
    let e = model
        .encode_labels(&[long.as_str()])
        .unwrap_err()
        .to_string();
    assert!(e.contains("77"), "{e}");
    assert_eq!(
        model
            .encode_labels_with(&[long.as_str()], true)
            .unwrap()
            .len(),
        1
    );
    // Sizes the network cannot take.
    let dev = model.device().clone();
    let labels = model.encode_labels(&["dog"]).unwrap();
    for dims in [[1, 3, 100, 128], [1, 3, 96, 0], [1, 1, 96, 128]] {
        let x = lseg::burn::tensor::Tensor::<4>::zeros(dims, &dev);
        let e = model.forward(x, &labels).unwrap_err();
        assert!(matches!(e, Error::InvalidInput(_)), "{e}");
    }
}

#[test]
fn mapped_token_table_outlives_the_file_name_and_matches_a_buffer_load() {
    // A file-loaded model keeps the token-embedding table in the map; the map (not the path)
    // keeps it readable, and it gives the same embeddings as a buffer-loaded (owned) table.
    let bytes = std::fs::read(fixture("tiny_vit16.safetensors")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.safetensors");
    std::fs::write(&path, &bytes).unwrap();
    let labels = [
        "dog",
        "grass",
        "a red car",
        "sky",
        "other",
        "zebra crossing",
    ];
    for backend in backends() {
        let mapped = Lseg::load(&path, &opts(backend)).unwrap();
        let owned = Lseg::load_bytes(&bytes, &opts(backend)).unwrap();
        std::fs::remove_file(&path).unwrap();
        let a = mapped.encode_labels(&labels).unwrap().to_vec();
        let b = owned.encode_labels(&labels).unwrap().to_vec();
        assert_eq!(a, b, "{backend}");
        drop(owned);
        assert_eq!(mapped.encode_labels(&labels).unwrap().to_vec(), a);
        std::fs::write(&path, &bytes).unwrap();
    }
}

/// Resident kB of this process's mappings of `path` (`/proc/self/smaps`).
#[cfg(target_os = "linux")]
fn mapped_rss_kb(path: &std::path::Path) -> u64 {
    let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
    let path = path.to_str().unwrap();
    let mut in_file = false;
    let mut kb = 0;
    for line in smaps.lines() {
        let first = line.split_whitespace().next().unwrap_or("");
        if first.contains('-') && !first.ends_with(':') {
            // A mapping's header line: `start-end perms offset dev inode [path]`.
            in_file = line.ends_with(path);
        } else if in_file && first == "Rss:" {
            kb += line
                .split_whitespace()
                .nth(1)
                .unwrap()
                .parse::<u64>()
                .unwrap();
        }
    }
    kb
}

#[test]
#[cfg(target_os = "linux")]
fn a_loaded_model_keeps_none_of_the_files_pages_resident() {
    // The weights are decoded into the backend's own memory; the file stays mapped for the
    // token table only. Its pages must leave the resident set after the load and after each
    // table lookup, even where the kernel maps whole (multi-page) folios on a fault.
    let bytes = std::fs::read(fixture("tiny_vit16.safetensors")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    // smaps names the file by its resolved path.
    let path = std::fs::canonicalize(dir.path())
        .unwrap()
        .join("w.safetensors");
    std::fs::write(&path, &bytes).unwrap();
    let backend = Backend::default_cpu().unwrap();
    for precision in [Precision::F32, Precision::BF16] {
        if !backend.supports(precision) {
            continue;
        }
        let opts = LoadOptions {
            precision,
            ..opts(backend)
        };
        let model = Lseg::load(&path, &opts).unwrap();
        assert_eq!(mapped_rss_kb(&path), 0, "{precision}: after the load");
        model
            .encode_labels(&["dog", "a red car", "zebra crossing"])
            .unwrap();
        assert_eq!(mapped_rss_kb(&path), 0, "{precision}: after a table lookup");
    }
}
