//! The `lseg` binary on the tiny fixtures: `segment` (both modes, pictures, shares, npy
//! outputs read back against the library), `convert` (a synthetic Lightning checkpoint to
//! identical outputs), `info`, the bundled example, and bad input.

#[path = "../../tests/common/mod.rs"]
mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use lseg::{
    EmbedNorm, EmbedOptions, EmbedResolution, ImageView, LoadOptions, Lseg, Mode, MultiScale,
    PixelFormat,
};
use serde_json::Value;

const LABELS: &str = "dog, grass, other, a red car, sky";

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs `lseg` in the repository root, where the README's commands run.
fn lseg(args: &[&str]) -> Run {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = Command::new(env!("CARGO_BIN_EXE_lseg"))
        .current_dir(root)
        .args(args)
        .output()
        .expect("run lseg");
    let run = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert!(
        !run.stderr.contains("panicked") && !run.stderr.contains("internal error"),
        "lseg {args:?} panicked:\n{}",
        run.stderr
    );
    run
}

fn ok(args: &[&str]) -> Run {
    let r = lseg(args);
    assert_eq!(r.code, 0, "lseg {args:?} failed:\n{}", r.stderr);
    r
}

/// A failing run: exit status 1, and every stderr line a one-line `error: ...`.
fn fails(args: &[&str], needle: &str) -> Run {
    let r = lseg(args);
    assert_eq!(
        r.code, 1,
        "lseg {args:?} should fail; stderr:\n{}",
        r.stderr
    );
    for line in r.stderr.lines() {
        assert!(
            line.starts_with("error: "),
            "not a one-line error: {line:?}"
        );
    }
    assert!(
        r.stderr.to_lowercase().contains(&needle.to_lowercase()),
        "stderr of {args:?} lacks {needle:?}:\n{}",
        r.stderr
    );
    r
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The tiny fixture's configuration as a JSON file (the fixture stores none).
fn config_file(dir: &Path) -> PathBuf {
    let p = dir.join("tiny_vit16.config.json");
    std::fs::write(&p, fixture_config("tiny_vit16").to_json()).unwrap();
    p
}

/// A deterministic 100x70 test picture (not a multiple of 32 in either side).
fn test_image(dir: &Path, name: &str) -> PathBuf {
    let img = image::RgbImage::from_fn(100, 70, |x, y| {
        let r = (x * 255 / 99) as u8;
        let g = (y * 255 / 69) as u8;
        let b = if (x / 20 + y / 20) % 2 == 0 { 40 } else { 220 };
        image::Rgb([r, g, b])
    });
    let p = dir.join(name);
    img.save(&p).unwrap();
    p
}

fn model() -> Lseg {
    let opts = LoadOptions {
        config: Some(fixture_config("tiny_vit16")),
        ..Default::default()
    };
    Lseg::load(fixture("tiny_vit16.safetensors"), &opts).unwrap()
}

fn rgb(path: &Path) -> image::RgbImage {
    image::open(path).unwrap().to_rgb8()
}

/// Read a float32 `.npy` file: (shape, data), with npyz (independent of the CLI's writer).
fn read_npy(path: &Path) -> (Vec<usize>, Vec<f32>) {
    let bytes = std::fs::read(path).unwrap();
    let npy = npyz::NpyFile::new(&bytes[..]).expect("a valid .npy file");
    assert_eq!(npy.order(), npyz::Order::C, "C order");
    assert_eq!(
        npy.dtype(),
        npyz::DType::new_scalar("<f4".parse().unwrap()),
        "float32"
    );
    let shape: Vec<usize> = npy.shape().iter().map(|&d| d as usize).collect();
    let data: Vec<f32> = npy.into_vec().expect("float32 data");
    assert_eq!(data.len(), shape.iter().product::<usize>());
    (shape, data)
}

fn max_abs(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// Parse the `--json` report lines.
fn reports(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Check one image's outputs against the library run on the same pixels.
fn check_segment_outputs(dir: &Path, img: &Path, mode: &Mode, report: &Value, out: &Path) {
    let stem = img.file_stem().unwrap().to_str().unwrap();
    let (w, h) = (100usize, 70usize);
    assert_eq!(report["width"], 100);
    assert_eq!(report["height"], 70);
    // Shares: one per label, adding up to 100%.
    let shares = report["shares"].as_array().unwrap();
    assert_eq!(shares.len(), 5);
    let sum: f64 = shares.iter().map(|s| s["percent"].as_f64().unwrap()).sum();
    assert!((sum - 100.0).abs() < 1e-9, "shares add up to {sum}");

    // Pictures decode at the input size.
    let labels_png = rgb(&out.join(format!("{stem}.labels.png")));
    let overlay = rgb(&out.join(format!("{stem}.overlay.png")));
    assert_eq!(labels_png.dimensions(), (100, 70));
    assert_eq!(overlay.dimensions(), (100, 70));

    // Scores equal the library's.
    let model = model();
    let labels = model
        .encode_labels(&["dog", "grass", "other", "a red car", "sky"])
        .unwrap();
    let pic = rgb(img);
    let view = ImageView::packed(pic.as_raw(), w, h, PixelFormat::Rgb8).unwrap();
    let seg = model.segment(&view, &labels, mode, None).unwrap();
    let want = seg.scores_vec();
    let (shape, got) = read_npy(&dir.join(format!("scores.{stem}.npy")));
    assert_eq!(shape, vec![5, h, w]);
    let d = max_abs(&got, &want);
    eprintln!("CLI scores.npy vs library ({mode:?}): max_abs={d:.3e}");
    assert!(d <= 1e-6, "scores differ by {d}");

    // The label index picture is the argmax of the scores, and the shares count it.
    let index = image::open(out.join(format!("{stem}.index.png")))
        .unwrap()
        .to_luma8();
    let map = seg.label_map();
    assert_eq!(
        index.as_raw().iter().map(|&v| v as u16).collect::<Vec<_>>(),
        map
    );
    for (i, s) in shares.iter().enumerate() {
        let n = map.iter().filter(|&&l| l as usize == i).count();
        let pct = 100.0 * n as f64 / (w * h) as f64;
        let got = s["percent"].as_f64().unwrap();
        assert!((got - pct).abs() <= 0.011, "share {i}: {got} vs {pct}");
    }
    // Same-coloured pixels in the label picture have the same label.
    for (p, &l) in labels_png.pixels().zip(&map) {
        let first = map.iter().position(|&m| m == l).unwrap();
        let (x, y) = ((first % w) as u32, (first / w) as u32);
        assert_eq!(*p, *labels_png.get_pixel(x, y));
    }
}

#[test]
fn segment_single_scale() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config_file(dir.path());
    let a = test_image(dir.path(), "a.png");
    let b = test_image(dir.path(), "b.jpg.png");
    let out = dir.path().join("out");
    let scores = dir.path().join("scores.npy");
    for (size, mode) in [
        ("64", Mode::Single { size: Some(64) }),
        ("native", Mode::Single { size: None }),
    ] {
        let r = ok(&[
            "segment",
            "--weights",
            s(&fixture("tiny_vit16.safetensors")),
            "--config",
            s(&cfg),
            "--labels",
            LABELS,
            s(&a),
            s(&b),
            "--out",
            s(&out),
            "--size",
            size,
            "--index",
            "--scores",
            s(&scores),
            "--json",
        ]);
        let reps = reports(&r.stdout);
        assert_eq!(reps.len(), 2);
        check_segment_outputs(dir.path(), &a, &mode, &reps[0], &out);
        check_segment_outputs(dir.path(), &b, &mode, &reps[1], &out);
    }
    // The text report: a line per label with its share.
    let r = ok(&[
        "segment",
        "-w",
        s(&fixture("tiny_vit16.safetensors")),
        "--config",
        s(&cfg),
        "-l",
        LABELS,
        s(&a),
        "-o",
        s(&out),
        "--size",
        "64",
    ]);
    let pcts: Vec<f64> = r
        .stdout
        .lines()
        .skip(1)
        .map(|l| {
            l.trim()
                .trim_end_matches('%')
                .rsplit(' ')
                .next()
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect();
    assert_eq!(pcts.len(), 5, "{}", r.stdout);
    assert!(
        (pcts.iter().sum::<f64>() - 100.0).abs() < 1e-6,
        "{}",
        r.stdout
    );
}

#[test]
fn segment_multiscale() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config_file(dir.path());
    let a = test_image(dir.path(), "a.png");
    let out = dir.path().join("out");
    let scores = dir.path().join("scores.{stem}.npy");
    let weights = fixture("tiny_vit16.safetensors");
    // The official protocol at the multiscale_tiny fixture's sizes (its parity with the
    // official evaluator is tests/multiscale.rs); with and without the flip.
    for flip in [true, false] {
        let mut args = vec![
            "segment",
            "--weights",
            s(&weights),
            "--config",
            s(&cfg),
            "--labels",
            LABELS,
            s(&a),
            "--out",
            s(&out),
            "--mode",
            "multiscale",
            "--base-size",
            "80",
            "--crop-size",
            "64",
            "--index",
            "--scores",
            s(&scores),
            "--json",
        ];
        if !flip {
            args.push("--no-flip");
        }
        let r = ok(&args);
        let mode = Mode::MultiScale(MultiScale {
            base_size: 80,
            crop_size: 64,
            flip,
            ..Default::default()
        });
        check_segment_outputs(dir.path(), &a, &mode, &reports(&r.stdout)[0], &out);
    }
}

#[test]
fn embeddings_npy() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config_file(dir.path());
    let a = test_image(dir.path(), "a.png");
    let model = model();
    let pic = rgb(&a);
    let view = ImageView::packed(pic.as_raw(), 100, 70, PixelFormat::Rgb8).unwrap();
    for (norm, res, n, r) in [
        ("l2", "native", EmbedNorm::L2, EmbedResolution::Native),
        ("raw", "native", EmbedNorm::Raw, EmbedResolution::Native),
        (
            "l2-scaled",
            "input",
            EmbedNorm::L2Scaled,
            EmbedResolution::Input,
        ),
    ] {
        let path = dir.path().join(format!("emb-{norm}-{res}.npy"));
        ok(&[
            "segment",
            "--weights",
            s(&fixture("tiny_vit16.safetensors")),
            "--config",
            s(&cfg),
            "--labels",
            "dog, sky",
            s(&a),
            "--out",
            s(&dir.path().join("out")),
            "--size",
            "96",
            "--embeddings",
            s(&path),
            "--embed-norm",
            norm,
            "--embed-resolution",
            res,
        ]);
        let opts = EmbedOptions {
            size: Some(96),
            norm: n,
            resolution: r,
        };
        let t = model.embed_image(&view, &opts).unwrap();
        let want_shape = t.dims()[1..].to_vec();
        let want: Vec<f32> = t.to_data().convert::<f32>().try_to_vec::<f32>().unwrap();
        let (shape, got) = read_npy(&path);
        assert_eq!(shape, want_shape, "{norm}/{res}");
        // 96 x 67 resized input: native grid ceil(67/2) x 48; input grid 70 x 100.
        let expect_hw = if res == "input" { [70, 100] } else { [34, 48] };
        assert_eq!(shape, vec![512, expect_hw[0], expect_hw[1]]);
        let d = max_abs(&got, &want);
        eprintln!("CLI embeddings {norm}/{res} vs library: max_abs={d:.3e}");
        assert!(d <= 1e-6, "{norm}/{res}: {d}");
        if norm == "l2" {
            let hw = shape[1] * shape[2];
            for p in [0, hw / 2, hw - 1] {
                let n2: f32 = (0..512).map(|c| got[c * hw + p].powi(2)).sum();
                assert!((n2 - 1.0).abs() < 1e-4, "unit length: {n2}");
            }
        }
    }
}

fn python3() -> &'static str {
    let ok = Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "the convert tests need python3 (standard library only) on PATH"
    );
    "python3"
}

/// A synthetic official-layout Lightning checkpoint made from `tiny_vit16`'s weights.
fn synthetic_checkpoint(dir: &Path) -> PathBuf {
    let ckpt = dir.join("demo_tiny.ckpt");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/make_lightning_ckpt.py");
    let out = Command::new(python3())
        .arg(&script)
        .arg(fixture("tiny_vit16.safetensors"))
        .arg(&ckpt)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    ckpt
}

/// The CLIP text tensors that the official GPU checkpoint stores in fp16.
fn is_fp16_in_ckpt(key: &str) -> bool {
    key == "clip_pretrained.text_projection"
        || [
            ".attn.in_proj_",
            ".attn.out_proj.",
            ".mlp.c_fc.",
            ".mlp.c_proj.",
        ]
        .iter()
        .any(|p| key.starts_with("clip_pretrained.") && key.contains(p))
}

fn is_weight(key: &str) -> bool {
    ["pretrained.", "scratch.", "clip_pretrained."]
        .iter()
        .any(|p| key.starts_with(p))
}

fn round_f16(bytes: &[u8]) -> Vec<u8> {
    bytes
        .chunks_exact(4)
        .flat_map(|c| {
            let v = f32::from_le_bytes(c.try_into().unwrap());
            half::f16::from_f32(v).to_f32().to_le_bytes()
        })
        .collect()
}

fn forward_output(model: &Lseg) -> (Vec<f32>, Vec<usize>) {
    let labels = model
        .encode_labels(&["dog", "grass", "other", "a red car", "sky"])
        .unwrap();
    let image = to_tensor::<4>(&reference("tiny_vit16", "input.image"), model.device());
    to_vec(&model.forward(image, &labels).unwrap())
}

#[test]
fn convert_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config_file(dir.path());
    let ckpt = synthetic_checkpoint(dir.path());
    let fixture_recs = records("tiny_vit16");

    // Without a configuration the tiny model's hooks cannot be inferred: a clear error.
    let st32 = dir.path().join("tiny32.safetensors");
    fails(&["convert", s(&ckpt), s(&st32)], "--config");

    let r = ok(&["convert", s(&ckpt), s(&st32), "--config", s(&cfg)]);
    assert!(
        r.stdout.contains("clip_pretrained.visual (2)"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("pretrained.model.head (2)"),
        "{}",
        r.stdout
    );
    let st16 = dir.path().join("sub/tiny16.safetensors");
    ok(&[
        "convert",
        s(&ckpt),
        s(&st16),
        "--config",
        s(&cfg),
        "--dtype",
        "f16",
    ]);

    // Every float weight of the fixture, exactly: f32 where the checkpoint holds f32, the
    // fp16 CLIP text weights as the fixture rounded to f16.
    let conv = records_of(&st32);
    let weights: Vec<&String> = fixture_recs
        .iter()
        .filter(|(k, (d, _, _))| is_weight(k) && *d == safetensors::Dtype::F32)
        .map(|(k, _)| k)
        .collect();
    assert_eq!(conv.len(), weights.len(), "tensor count");
    let mut n_half = 0;
    for k in &weights {
        let (_, shape, bytes) = &fixture_recs[*k];
        let (d, cshape, cbytes) = conv.get(*k).unwrap_or_else(|| panic!("missing {k}"));
        assert_eq!(*d, safetensors::Dtype::F32);
        assert_eq!(cshape, shape, "{k}");
        if is_fp16_in_ckpt(k) {
            n_half += 1;
            assert_eq!(*cbytes, round_f16(bytes), "{k}");
        } else {
            assert_eq!(cbytes, bytes, "{k}");
        }
    }
    assert_eq!(n_half, 2 * 8 + 1, "fp16 text tensors");
    assert!(
        conv.keys()
            .all(|k| !k.starts_with("clip_pretrained.visual.")
                && !k.starts_with("pretrained.model.head.")
                && !k.ends_with("num_batches_tracked"))
    );
    // The f16 file: every weight is the f16 rounding of the fixture's value.
    let conv16 = records_of(&st16);
    for k in &weights {
        let (d, _, b) = &conv16[*k];
        assert_eq!(*d, safetensors::Dtype::F16);
        let (_, _, f) = &fixture_recs[*k];
        let want: Vec<u8> = f
            .chunks_exact(4)
            .flat_map(|c| {
                half::f16::from_f32(f32::from_le_bytes(c.try_into().unwrap())).to_le_bytes()
            })
            .collect();
        assert_eq!(*b, want, "{k}");
    }

    // Loading the converted file needs no configuration, and gives exactly the output of the
    // fixture with the same (rounded) text weights.
    let converted = Lseg::load(&st32, &LoadOptions::default()).unwrap();
    assert_eq!(*converted.config(), fixture_config("tiny_vit16"));
    let rounded: std::collections::BTreeMap<String, Record> = fixture_recs
        .iter()
        .map(|(k, (d, sh, b))| {
            let b = if is_fp16_in_ckpt(k) {
                round_f16(b)
            } else {
                b.clone()
            };
            (k.clone(), (*d, sh.clone(), b))
        })
        .collect();
    let opts = LoadOptions {
        config: Some(fixture_config("tiny_vit16")),
        ..Default::default()
    };
    let reference_model = Lseg::load_bytes(&serialize(&rounded, None), &opts).unwrap();
    let (a, b) = (forward_output(&converted), forward_output(&reference_model));
    assert_eq!(a, b, "converted vs fixture with f16 text weights");
    // ... and stays within the f16 text-weight rounding of the official f32 output.
    let (d, m) = max_diff(&a, &reference("tiny_vit16", "output"));
    eprintln!(
        "CLI convert: output vs official f32 output max_abs={d:.3e} rel={:.3e}",
        d / m
    );
    assert!(d / m < 2e-3);

    // The CLI segments with the converted file alone, and `info` reads it.
    let img = test_image(dir.path(), "a.png");
    ok(&[
        "segment",
        "--weights",
        s(&st16),
        "--labels",
        LABELS,
        s(&img),
        "--out",
        s(&dir.path().join("out")),
        "--size",
        "64",
    ]);
    let r = ok(&["info", s(&st16)]);
    assert!(
        r.stdout.contains("config:     stored in the file"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("F16"), "{}", r.stdout);
}

fn records_of(path: &Path) -> std::collections::BTreeMap<String, Record> {
    let bytes = std::fs::read(path).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    st.tensors()
        .into_iter()
        .map(|(k, v)| (k, (v.dtype(), v.shape().to_vec(), v.data().to_vec())))
        .collect()
}

#[test]
fn info_reports_config_counts_and_dtypes() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config_file(dir.path());
    // No stored config and none inferable: reported, not an error.
    let r = ok(&["info", s(&fixture("tiny_vit16.safetensors"))]);
    assert!(r.stdout.contains("config:     unknown"), "{}", r.stdout);
    let r = ok(&[
        "info",
        s(&fixture("tiny_vit16.safetensors")),
        "--config",
        s(&cfg),
        "--tensors",
    ]);
    assert!(
        r.stdout
            .contains("variant:    custom (ViT patch 16, width 64, depth 4"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("config:     given"), "{}", r.stdout);
    assert!(
        r.stdout
            .contains("scratch.head1.weight F32 [512, 32, 1, 1]"),
        "{}",
        r.stdout
    );
    // Parameter count: the sum over the file's tensors.
    let total: usize = records("tiny_vit16")
        .values()
        .map(|(_, sh, _)| sh.iter().product::<usize>())
        .sum();
    let line = r
        .stdout
        .lines()
        .find(|l| l.starts_with("parameters:"))
        .unwrap();
    let n: usize = line
        .split_whitespace()
        .nth(1)
        .unwrap()
        .replace(',', "")
        .parse()
        .unwrap();
    assert_eq!(n, total);
    assert!(r.stdout.contains("I64"), "{}", r.stdout);
    // The bundled example weights: config stored, f16.
    let r = ok(&["info", "examples/data/tiny-random-vit16.safetensors"]);
    assert!(
        r.stdout.contains("config:     stored in the file"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("F16"), "{}", r.stdout);
}

#[test]
fn bundled_example_runs() {
    // The README's first command, on the bundled random weights and sample image.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let r = ok(&[
        "segment",
        "--weights",
        "examples/data/tiny-random-vit16.safetensors",
        "--labels",
        "grass, dirt, forest",
        "examples/data/sample.png",
        "--out",
        s(&out),
    ]);
    assert!(
        r.stdout.contains("examples/data/sample.png (320x240"),
        "{}",
        r.stdout
    );
    assert_eq!(
        rgb(&out.join("sample.overlay.png")).dimensions(),
        (320, 240)
    );
    assert_eq!(rgb(&out.join("sample.labels.png")).dimensions(), (320, 240));
}

#[test]
fn bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cfg = config_file(d);
    let w = fixture("tiny_vit16.safetensors");
    let img = test_image(d, "good.png");
    let out = d.join("out");
    let base = |extra: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = [
            "segment",
            "--weights",
            s(&w),
            "--config",
            s(&cfg),
            "--out",
            s(&out),
            "--size",
            "64",
        ]
        .iter()
        .map(|x| x.to_string())
        .collect();
        v.extend(extra.iter().map(|x| x.to_string()));
        v
    };
    let run = |extra: &[&str], needle: &str| {
        let v = base(extra);
        let args: Vec<&str> = v.iter().map(String::as_str).collect();
        fails(&args, needle)
    };

    // Missing weights, and a weights file that is not safetensors.
    fails(
        &[
            "segment",
            "--weights",
            s(&d.join("nope.safetensors")),
            "--labels",
            "dog",
            s(&img),
        ],
        "nope.safetensors",
    );
    let junk = d.join("junk.safetensors");
    std::fs::write(&junk, b"definitely not safetensors").unwrap();
    fails(
        &["segment", "--weights", s(&junk), "--labels", "dog", s(&img)],
        "invalid weights",
    );
    fails(&["info", s(&junk)], "invalid weights");
    fails(
        &["info", s(&d.join("nope.safetensors"))],
        "nope.safetensors",
    );

    // Empty labels.
    run(&["--labels", "", s(&img)], "no labels");
    run(&["--labels", " , ", s(&img)], "no labels");
    run(&["--labels", "dog,,cat", s(&img)], "label 2");
    // Labels files: unreadable, or without a label.
    run(
        &["--labels-file", s(&d.join("missing.txt")), s(&img)],
        "cannot read labels file",
    );
    let empty = d.join("empty.txt");
    std::fs::write(&empty, "# only a comment\n\n").unwrap();
    run(&["--labels-file", s(&empty), s(&img)], "no labels");
    let good = d.join("labels.txt");
    std::fs::write(&good, "# labels\ndog\n\na red car, parked\nsky\n").unwrap();
    let v = base(&["--labels-file", s(&good), s(&img), "--json"]);
    let r = ok(&v.iter().map(String::as_str).collect::<Vec<_>>());
    let rep = &reports(&r.stdout)[0];
    assert_eq!(rep["shares"][1]["label"], "a red car, parked");
    // Over-long label: an error unless --truncate.
    let long = vec!["word"; 100].join(" ");
    run(&["--labels", &long, s(&img)], "77");
    let v = base(&["--labels", &long, "--truncate", s(&img)]);
    ok(&v.iter().map(String::as_str).collect::<Vec<_>>());

    // A batch with a non-image, a missing file and a corrupt PNG continues past them.
    let text = d.join("notes.txt");
    std::fs::write(&text, "hello").unwrap();
    let corrupt = d.join("corrupt.png");
    std::fs::write(&corrupt, b"\x89PNG\r\n\x1a\nbroken").unwrap();
    let img2 = test_image(d, "second.png");
    let r = run(
        &[
            "--labels",
            "dog, sky",
            s(&text),
            s(&img),
            s(&d.join("gone.png")),
            s(&corrupt),
            s(&img2),
            "--json",
        ],
        "3 of 5 images failed",
    );
    assert_eq!(r.stderr.lines().count(), 4, "{}", r.stderr);
    assert!(
        r.stderr.contains("notes.txt")
            && r.stderr.contains("gone.png")
            && r.stderr.contains("corrupt.png")
    );
    let reps = reports(&r.stdout);
    assert_eq!(reps.len(), 2);
    assert!(out.join("good.overlay.png").exists() && out.join("second.overlay.png").exists());

    // Bad options and a bad checkpoint.
    run(
        &[
            "--labels",
            "dog",
            "--mode",
            "multiscale",
            "--crop-size",
            "50",
            s(&img),
        ],
        "crop-size",
    );
    run(&["--labels", "dog", "--alpha", "2", s(&img)], "alpha");
    fails(
        &[
            "segment",
            "--weights",
            s(&w),
            "--config",
            s(&cfg),
            "--size",
            "20000",
            "--labels",
            "dog",
            s(&img),
        ],
        "--size",
    );
    run(
        &[
            "--labels",
            "dog",
            "--backend",
            "ndarray",
            "--dtype",
            "f16",
            s(&img),
        ],
        "ndarray",
    );
    fails(
        &["convert", s(&text), s(&d.join("x.safetensors"))],
        "not a PyTorch zip checkpoint",
    );
    fails(
        &[
            "convert",
            s(&d.join("gone.ckpt")),
            s(&d.join("x.safetensors")),
        ],
        "gone.ckpt",
    );
    let r = lseg(&["segment", "--weights", s(&w), s(&img)]);
    assert_eq!(r.code, 2, "missing --labels is a usage error");
}

/// Pixel accuracy and per-class IoU written as PyTorch-Encoding's evaluator writes them
/// (classes shifted by one, 0 = unlabeled, areas by histogram over 1..=n), from label maps and
/// shifted ground truth (0 = unlabeled, k = class k - 1).
fn official_scores(pairs: &[(Vec<u16>, Vec<u16>)], n: usize) -> (f64, Vec<f64>) {
    let (mut correct, mut labelled) = (0u64, 0u64);
    let (mut inter, mut union) = (vec![0u64; n], vec![0u64; n]);
    for (pred, target) in pairs {
        let hist = |v: &dyn Fn(usize) -> u16, h: &mut Vec<u64>| {
            for i in 0..pred.len() {
                let x = v(i) as usize;
                if (1..=n).contains(&x) {
                    h[x - 1] += 1;
                }
            }
        };
        let predict = |i: usize| if target[i] > 0 { pred[i] + 1 } else { 0 };
        let (mut ai, mut ap, mut al) = (vec![0; n], vec![0; n], vec![0; n]);
        hist(
            &|i| {
                if predict(i) == target[i] {
                    predict(i)
                } else {
                    0
                }
            },
            &mut ai,
        );
        hist(&predict, &mut ap);
        hist(&|i| target[i], &mut al);
        for k in 0..n {
            inter[k] += ai[k];
            union[k] += ap[k] + al[k] - ai[k];
        }
        labelled += target.iter().filter(|&&t| t > 0).count() as u64;
        correct += (0..pred.len())
            .filter(|&i| target[i] > 0 && pred[i] + 1 == target[i])
            .count() as u64;
    }
    let iou = inter
        .iter()
        .zip(&union)
        .map(|(&i, &u)| i as f64 / (f64::EPSILON + u as f64))
        .collect();
    (correct as f64 / (f64::EPSILON + labelled as f64), iou)
}

/// Ground truth of a `w x h` image `k`: classes 1..=3 in bands (class 4 never occurs), 0
/// (unlabeled) in a corner.
fn gt_mask(w: u32, h: u32, k: u32) -> Vec<u16> {
    (0..w * h)
        .map(|i| {
            let (x, y) = (i % w, i / w);
            if x < 8 && y < 8 {
                0
            } else {
                1 + ((x / 17 + y / 13 + k) % 3) as u16
            }
        })
        .collect()
}

#[test]
fn eval_scores_the_label_maps_segment_writes() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config_file(dir.path());
    let weights = fixture("tiny_vit16.safetensors");
    let classes = ["dog", "grass", "other", "sky"];
    let ade = dir.path().join("ade");
    let folder = dir.path().join("folder");
    for d in [
        "ade/images",
        "ade/annotations",
        "folder/images",
        "folder/masks",
    ] {
        std::fs::create_dir_all(dir.path().join(d)).unwrap();
    }
    let labels_file = dir.path().join("objectInfo.txt");
    std::fs::write(&labels_file, "dog\ngrass\nother\nsky\n").unwrap();
    std::fs::write(folder.join("labels.txt"), "dog\ngrass\nother\nsky\n").unwrap();
    let sizes = [(100u32, 70u32), (64, 96), (81, 40)];
    let mut images = Vec::new();
    let mut truths = Vec::new();
    for (k, &(w, h)) in sizes.iter().enumerate() {
        let img = image::RgbImage::from_fn(w, h, |x, y| {
            image::Rgb([
                (x * 7 + k as u32 * 50) as u8,
                (y * 5) as u8,
                ((x ^ y) * 3) as u8,
            ])
        });
        let name = format!("img{k}");
        img.save(ade.join("images").join(format!("{name}.png")))
            .unwrap();
        img.save(folder.join("images").join(format!("{name}.png")))
            .unwrap();
        let gt = gt_mask(w, h, k as u32);
        let g8: Vec<u8> = gt.iter().map(|&v| v as u8).collect();
        image::GrayImage::from_raw(w, h, g8)
            .unwrap()
            .save(ade.join("annotations").join(format!("{name}.png")))
            .unwrap();
        // Folder layout: 16-bit class indices, 9 unlabeled.
        let g16: Vec<u16> = gt.iter().map(|&v| if v == 0 { 9 } else { v - 1 }).collect();
        image::ImageBuffer::<image::Luma<u16>, _>::from_raw(w, h, g16)
            .unwrap()
            .save(folder.join("masks").join(format!("{name}.png")))
            .unwrap();
        images.push(ade.join("images").join(format!("{name}.png")));
        truths.push(gt);
    }
    // The label maps `lseg segment` writes with `protocol`, paired with the ground truth.
    let segment_maps = |protocol: &[&str], out: &Path| -> Vec<(Vec<u16>, Vec<u16>)> {
        let mut seg = vec!["segment", "--weights", s(&weights), "--config", s(&cfg)];
        seg.extend([
            "--labels-file",
            s(&labels_file),
            "--index",
            "--out",
            s(out),
            "-q",
        ]);
        seg.extend(protocol);
        seg.extend(images.iter().map(|p| s(p)));
        ok(&seg);
        (0..3)
            .map(|k| {
                let m = image::open(out.join(format!("img{k}.index.png")))
                    .unwrap()
                    .to_luma8();
                (
                    m.into_raw().into_iter().map(u16::from).collect(),
                    truths[k].clone(),
                )
            })
            .collect()
    };
    let (acc, iou) = official_scores(&segment_maps(&["--size", "64"], &dir.path().join("out")), 4);
    assert!(iou[3] == 0.0, "class 4 is absent: IoU 0");
    let common = [
        "--weights",
        s(&weights),
        "--config",
        s(&cfg),
        "--size",
        "64",
        "--json",
        "-q",
    ];
    for (layout, data, extra) in [
        ("ade20k", &ade, vec!["--labels-file", s(&labels_file)]),
        ("folder", &folder, vec!["--ignore-index", "9"]),
    ] {
        let mut a = vec!["eval", "--layout", layout, "--data", s(data)];
        a.extend(common);
        a.extend(extra.iter().copied());
        let r = ok(&a);
        let v: Value = serde_json::from_str(r.stdout.trim()).unwrap();
        assert_eq!(v["images"], 3, "{layout}");
        assert_eq!(v["pixAcc"].as_f64().unwrap(), acc, "{layout}");
        let got: Vec<f64> = v["per_class_iou"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect();
        assert_eq!(got, iou, "{layout}");
        assert_eq!(
            v["mIoU"].as_f64().unwrap(),
            iou.iter().sum::<f64>() / 4.0,
            "{layout}"
        );
        assert_eq!(v["labels"], serde_json::json!(classes));
        let present = iou[..3].iter().sum::<f64>() / 3.0;
        assert!(
            (v["mIoU_present"].as_f64().unwrap() - present).abs() < 1e-12,
            "{layout}"
        );
    }
    // Multi-scale: the label maps of `lseg segment --mode multiscale` with the same options.
    let ms = [
        "--mode",
        "multiscale",
        "--base-size",
        "64",
        "--crop-size",
        "32",
        "--scales",
        "0.75,1.25",
    ];
    let (acc_ms, iou_ms) = official_scores(&segment_maps(&ms, &dir.path().join("out_ms")), 4);
    let mut a = vec![
        "eval",
        "--data",
        s(&ade),
        "--labels-file",
        s(&labels_file),
        "--weights",
        s(&weights),
    ];
    a.extend(["--config", s(&cfg), "--json", "-q"]);
    a.extend(ms);
    let v: Value = serde_json::from_str(ok(&a).stdout.trim()).unwrap();
    assert_eq!(v["mode"], "multiscale");
    assert_eq!(v["pixAcc"].as_f64().unwrap(), acc_ms);
    let got: Vec<f64> = v["per_class_iou"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    assert_eq!(got, iou_ms);

    // The named variant, and the table.
    let mut a = vec![
        "eval",
        "--data",
        s(&ade),
        "--labels-file",
        s(&labels_file),
        "--miou-classes",
        "present",
    ];
    a.extend(common);
    let v: Value = serde_json::from_str(ok(&a).stdout.trim()).unwrap();
    assert_eq!(v["mIoU"], v["mIoU_present"]);
    // The ade20k evaluation as a table; the same command fails on each bad data set below.
    let eval_ade = [
        "eval",
        "--data",
        s(&ade),
        "--labels-file",
        s(&labels_file),
        "--weights",
        s(&weights),
        "--config",
        s(&cfg),
        "--size",
        "64",
        "-q",
    ];
    let t = ok(&eval_ade).stdout;
    assert!(
        t.contains("pixAcc") && t.contains("grass") && t.contains("3 images"),
        "{t}"
    );

    // Bad data sets: a clear one-line error each.
    std::fs::remove_file(ade.join("annotations/img2.png")).unwrap();
    fails(&eval_ade, "no mask for");
    image::GrayImage::new(10, 10)
        .save(ade.join("annotations/img2.png"))
        .unwrap();
    fails(&eval_ade, "is 10x10, its image 81x40");
    image::GrayImage::from_pixel(81, 40, image::Luma([5]))
        .save(ade.join("annotations/img2.png"))
        .unwrap();
    fails(
        &eval_ade,
        "value 5 at (0, 0) is not a class of the 4 labels",
    );
    image::RgbImage::new(81, 40)
        .save(ade.join("annotations/img2.png"))
        .unwrap();
    fails(&eval_ade, "grey PNG");
    fails(
        &["eval", "--data", s(&ade), "--weights", s(&weights), "-q"],
        "--labels-file",
    );
}

/// A folder-layout data set of `n` 64x64 images whose classes (four colour regions, 9
/// unlabeled in a corner) are easy to learn.
fn colour_regions(dir: &Path, n: u32) -> PathBuf {
    let root = dir.join("regions");
    for d in ["images", "masks"] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    std::fs::write(root.join("labels.txt"), "dog\ngrass\nother\nsky\n").unwrap();
    let colours = [
        [200u8, 40, 40],
        [40, 200, 40],
        [40, 40, 200],
        [220, 220, 60],
    ];
    for k in 0..n {
        let class = |x: u32, y: u32| ((x + 7 * k) / 16 + (y + 5 * k) / 32) % 4;
        let img = image::RgbImage::from_fn(64, 64, |x, y| {
            let c = colours[class(x, y) as usize];
            let noise = ((x * 13 + y * 7 + k) % 17) as u8;
            image::Rgb([c[0] + noise, c[1] + noise, c[2] + noise])
        });
        img.save(root.join(format!("images/r{k}.png"))).unwrap();
        let mask: Vec<u8> = (0..64 * 64)
            .map(|i| {
                let (x, y) = (i % 64, i / 64);
                if x < 4 && y < 4 { 9 } else { class(x, y) as u8 }
            })
            .collect();
        image::GrayImage::from_raw(64, 64, mask)
            .unwrap()
            .save(root.join(format!("masks/r{k}.png")))
            .unwrap();
    }
    root
}

/// The JSON lines of a `--json` run that have `key`.
fn lines_with(stdout: &str, key: &str) -> Vec<Value> {
    reports(stdout)
        .into_iter()
        .filter(|v| v.get(key).is_some())
        .collect()
}

#[test]
fn train_fits_a_data_set_and_resumes_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config_file(dir.path());
    let weights = fixture("tiny_vit16.safetensors");
    let data = colour_regions(dir.path(), 6);
    let data_args = [
        "--data",
        s(&data),
        "--layout",
        "folder",
        "--ignore-index",
        "9",
    ];
    let eval = |w: &Path, with_cfg: bool| -> Value {
        let mut a = vec!["eval", "--weights", s(w), "--size", "64", "--json", "-q"];
        if with_cfg {
            a.extend(["--config", s(&cfg)]);
        }
        a.extend(data_args);
        serde_json::from_str(ok(&a).stdout.trim()).unwrap()
    };
    let before = eval(&weights, true);
    let train = |out: &Path, extra: &[&str]| -> Run {
        let mut a = vec!["train", "--config", s(&cfg), "--out", s(out)];
        a.extend(data_args);
        a.extend([
            "--epochs",
            "8",
            "--batch-size",
            "2",
            "--crop-size",
            "64",
            "--base-size",
            "64",
            "--base-lr",
            "0.16",
            "--seed",
            "5",
            "--json",
        ]);
        a.extend(extra);
        ok(&a)
    };
    let out = dir.path().join("run");
    let r = train(
        &out,
        &[
            "--weights",
            s(&weights),
            "--val-every",
            "12",
            "--val-size",
            "64",
        ],
    );
    let steps = lines_with(&r.stdout, "loss");
    assert_eq!(steps.len(), 24, "6 images, batch 2, 8 epochs");
    let loss = |v: &[Value]| v.iter().map(|s| s["loss"].as_f64().unwrap()).sum::<f64>() / 3.0;
    let (first, last) = (loss(&steps[..3]), loss(&steps[21..]));
    assert!(last < 0.75 * first, "loss {first} -> {last}");
    // Poly decay per epoch: constant within an epoch, falling across epochs.
    let lr: Vec<f64> = steps.iter().map(|s| s["lr"].as_f64().unwrap()).collect();
    assert_eq!(lr[0], 0.16 / 16.0 * 2.0);
    assert!(lr[0] == lr[2] && lr[3] < lr[2] && lr[23] < lr[3]);
    let vals = lines_with(&r.stdout, "val_mIoU");
    assert_eq!(vals.len(), 2, "after steps 12 and 24");
    let final_ckpt = out.join("step-000024.safetensors");
    assert!(final_ckpt.is_file() && out.join("step-000024.state.safetensors").is_file());
    // The checkpoint loads without --config, and scores what the run reported.
    let after = eval(&final_ckpt, false);
    assert_eq!(after["mIoU"], vals[1]["val_mIoU"]);
    assert_eq!(after["pixAcc"], vals[1]["val_pixAcc"]);
    let (m0, m1) = (
        before["mIoU"].as_f64().unwrap(),
        after["mIoU"].as_f64().unwrap(),
    );
    assert!(m1 > m0 + 0.15, "training-set mIoU {m0} -> {m1}");
    // `lseg segment` takes the checkpoint as any weights file.
    let seg_out = dir.path().join("seg");
    ok(&[
        "segment",
        "--weights",
        s(&final_ckpt),
        "--labels",
        "dog,grass,other,sky",
        "--index",
        "--out",
        s(&seg_out),
        "-q",
        s(&data.join("images/r0.png")),
    ]);
    assert!(seg_out.join("r0.index.png").is_file());

    // Stopped after 10 steps (mid-epoch) and resumed: the same weights, bit for bit.
    let out2 = dir.path().join("resumed");
    train(&out2, &["--weights", s(&weights), "--max-steps", "10"]);
    let r = train(
        &out2,
        &["--resume", s(&out2.join("step-000010.safetensors"))],
    );
    assert_eq!(lines_with(&r.stdout, "loss").len(), 14);
    let read = |p: &Path| {
        let f = lseg::weights::WeightFile::open(p).unwrap();
        let w = f.parse().unwrap();
        w.tensors()
            .into_iter()
            .filter(|t| t.dtype == "F32")
            .map(|t| (t.key.clone(), w.read_f32(&t.key).unwrap().0))
            .collect::<Vec<_>>()
    };
    let (a, b) = (
        read(&final_ckpt),
        read(&out2.join("step-000024.safetensors")),
    );
    assert_eq!(a.len(), b.len());
    for ((ka, va), (kb, vb)) in a.iter().zip(&b) {
        assert_eq!(ka, kb);
        assert!(
            va.iter().zip(vb).all(|(x, y)| x.to_bits() == y.to_bits()),
            "{ka} differs after resume"
        );
    }

    // Bad runs: one-line errors.
    let base = [
        "train",
        "--config",
        s(&cfg),
        "--weights",
        s(&weights),
        "--out",
        s(&out2),
    ];
    let with = |extra: &[&str]| -> Vec<String> {
        base.iter()
            .chain(&data_args)
            .chain(extra)
            .map(|x| x.to_string())
            .collect()
    };
    let run = |a: Vec<String>, needle: &str| {
        fails(&a.iter().map(String::as_str).collect::<Vec<_>>(), needle);
    };
    run(with(&["--crop-size", "40"]), "multiple of 32");
    run(with(&["--batch-size", "7"]), "fewer than one step");
    run(with(&["--batch-size", "0"]), "at least 1");
    let missing = out2.join("nothing.safetensors");
    run(
        vec!["train", "--out", s(&out2), "--resume", s(&missing)]
            .into_iter()
            .chain(data_args)
            .map(String::from)
            .collect(),
        "nothing",
    );
    let bad_mask = colour_regions(&dir.path().join("bad"), 2);
    image::GrayImage::from_pixel(64, 64, image::Luma([6]))
        .save(bad_mask.join("masks/r1.png"))
        .unwrap();
    run(
        vec![
            "train",
            "--config",
            s(&cfg),
            "--weights",
            s(&weights),
            "--out",
            s(&out2),
            "--data",
            s(&bad_mask),
            "--layout",
            "folder",
            "--ignore-index",
            "9",
            "--batch-size",
            "2",
            "--crop-size",
            "32",
        ]
        .into_iter()
        .map(String::from)
        .collect(),
        "value 6",
    );
}

#[test]
fn train_from_scratch_with_a_pretrained_vit() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config_file(dir.path());
    let data = colour_regions(dir.path(), 2);
    // The fixture's ViT as a timm-style file: `blocks.0...` without the LSeg prefix.
    let f = lseg::weights::WeightFile::open(fixture("tiny_vit16.safetensors")).unwrap();
    let w = f.parse().unwrap();
    let vit: Vec<(String, Vec<usize>, Vec<u8>)> = w
        .tensors()
        .into_iter()
        .filter_map(|i| {
            let key = i.key.strip_prefix("pretrained.model.")?.to_string();
            let (v, shape) = w.read_f32(&i.key).unwrap();
            Some((key, shape, v.iter().flat_map(|x| x.to_le_bytes()).collect()))
        })
        .collect();
    let vit_file = dir.path().join("vit.safetensors");
    let views = vit.iter().map(|(k, s, b)| {
        let v = safetensors::tensor::TensorView::new(safetensors::Dtype::F32, s.clone(), b);
        (k.clone(), v.unwrap())
    });
    safetensors::serialize_to_file(views, None, &vit_file).unwrap();
    let out = dir.path().join("scratch");
    let args = [
        "train",
        "--init",
        s(&cfg),
        "--vit",
        s(&vit_file),
        "--out",
        s(&out),
        "--data",
        s(&data),
        "--layout",
        "folder",
        "--ignore-index",
        "9",
        "--batch-size",
        "2",
        "--crop-size",
        "32",
        "--json",
    ];
    let r = ok(&args);
    assert!(r.stderr.contains("random text tower"), "{}", r.stderr);
    assert_eq!(lines_with(&r.stdout, "loss").len(), 1);
    let init = lseg::weights::WeightFile::open(out.join("init.safetensors")).unwrap();
    let wi = init.parse().unwrap();
    let key = "pretrained.model.blocks.2.attn.qkv.weight";
    assert_eq!(wi.read_f32(key).unwrap().0, w.read_f32(key).unwrap().0);
    let key = "scratch.refinenet2.out_conv.weight";
    assert_ne!(wi.read_f32(key).unwrap().0, w.read_f32(key).unwrap().0);
    assert!(out.join("step-000001.safetensors").is_file());
    // --vit without --init, --init with --weights: usage errors; a file without ViT tensors.
    let r = lseg(&[
        "train",
        "--vit",
        s(&vit_file),
        "--out",
        s(&out),
        "--data",
        s(&data),
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    let cfg_as_vit = ["--vit", s(&cfg)];
    let mut a: Vec<&str> = args.to_vec();
    a.splice(3..5, cfg_as_vit);
    fails(&a, "tiny_vit16.config.json");
}
